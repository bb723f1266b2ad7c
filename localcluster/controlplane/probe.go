package controlplane

import (
	"context"
	"fmt"
	"net/http"

	"github.com/miekg/dns"
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

// all succeeds once every check succeeds, in order.
func all(checks ...func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		for _, check := range checks {
			if err := check(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}

// resolves succeeds once the DNS server at addr answers, over UDP and TCP,
// that name has the address ip.
func resolves(addr, name, ip string) func(context.Context) error {
	return func(ctx context.Context) error {
		for _, proto := range []string{"udp", "tcp"} {
			if err := lookupA(ctx, proto, addr, name, ip); err != nil {
				return err
			}
		}
		return nil
	}
}

func lookupA(ctx context.Context, proto, addr, name, ip string) error {
	resp, _, err := (&dns.Client{Net: proto}).ExchangeContext(ctx, new(dns.Msg).SetQuestion(name, dns.TypeA), addr)
	if err != nil {
		return fmt.Errorf("%s %s A: %w", proto, name, err)
	}
	for _, rr := range resp.Answer {
		if a, ok := rr.(*dns.A); ok && a.A.String() == ip {
			return nil
		}
	}
	return fmt.Errorf("%s %s A: %s, want %s", proto, name, dns.RcodeToString[resp.Rcode], ip)
}
