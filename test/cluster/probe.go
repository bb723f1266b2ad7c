package cluster

import (
	"context"
	"fmt"
	"net/http"
)

// answers succeeds once url returns any HTTP response.
func answers(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := get(ctx, url)
		return err
	}
}

// healthy succeeds once url returns 200.
func healthy(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		code, err := get(ctx, url)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("GET %s: status %d", url, code)
		}
		return err
	}
}

func get(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
