package podrunner

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// checkFunc runs one probe attempt; nil means success.
type checkFunc func(ctx context.Context) error

// probeRun is one probe of one container run.
type probeRun struct {
	kind      string // Startup, Readiness or Liveness
	probe     *corev1.Probe
	check     checkFunc
	onFailure func(err error)
	// onResult is called when the thresholds turn the result to ok or not
	// ok; returning false ends the probe.
	onResult func(ok bool) bool
}

// probe runs c's probes for its current run: the startup probe until it
// succeeds, then readiness and liveness. A failed startup or liveness probe
// sends why on kill.
func (w *podWorker) probe(ctx context.Context, c *ctr, kill chan<- string) {
	ip := w.podIP()
	if p := c.spec.StartupProbe; p != nil {
		started := false
		w.runProbe(ctx, c, "Startup", p, ip, func(ok bool) bool {
			started = ok
			return false
		})
		if !started {
			sendKill(ctx, kill, "failed startup probe")
			return
		}
		w.setStarted(c)
	}
	if p := c.spec.ReadinessProbe; p != nil {
		go w.runProbe(ctx, c, "Readiness", p, ip, func(ok bool) bool { w.setReady(c, ok); return true })
	}
	if p := c.spec.LivenessProbe; p != nil {
		w.runProbe(ctx, c, "Liveness", p, ip, func(ok bool) bool {
			if !ok {
				sendKill(ctx, kill, "failed liveness probe")
			}
			return ok
		})
	}
}

func sendKill(ctx context.Context, kill chan<- string, why string) {
	if ctx.Err() == nil {
		kill <- why
	}
}

func (w *podWorker) podIP() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state.ip
}

// setStarted records that c's startup probe passed.
func (w *podWorker) setStarted(c *ctr) {
	w.mu.Lock()
	c.st.started = true
	c.st.ready = c.spec.ReadinessProbe == nil
	w.mu.Unlock()
	c.markStarted()
	w.log.Info("container started up", zap.String("container", c.spec.Name))
	w.markDirty()
}

// setReady records c's readiness.
func (w *podWorker) setReady(c *ctr, ready bool) {
	w.mu.Lock()
	changed := c.st.ready != ready && c.st.running
	if changed {
		c.st.ready = ready
	}
	w.mu.Unlock()
	if changed {
		w.log.Info("container readiness changed", zap.String("container", c.spec.Name), zap.Bool("ready", ready))
		w.markDirty()
	}
}

// runProbe runs probe p of c until ctx is done or onResult says stop.
func (w *podWorker) runProbe(ctx context.Context, c *ctr, kind string, p *corev1.Probe, ip string, onResult func(bool) bool) {
	check, err := probeCheck(p, &c.spec, ip)
	if err != nil {
		check = func(context.Context) error { return err }
	}
	run := probeRun{kind: kind, probe: p, check: check, onResult: onResult, onFailure: func(err error) {
		w.r.events.Eventf(w.pod(), corev1.EventTypeWarning, reasonUnhealthy, "%s probe failed: %v", kind, err)
	}}
	run.loop(ctx)
}

// loop probes every period after the initial delay and calls onResult
// when successThreshold successes or failureThreshold failures in a row
// are reached.
func (r probeRun) loop(ctx context.Context) {
	if !wait(ctx, seconds(r.probe.InitialDelaySeconds, 0)) {
		return
	}
	period := seconds(r.probe.PeriodSeconds, 10)
	succ, fail := 0, 0
	for {
		cctx, cancel := context.WithTimeout(ctx, seconds(r.probe.TimeoutSeconds, 1))
		err := r.check(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			succ, fail = succ+1, 0
		} else {
			succ, fail = 0, fail+1
			r.onFailure(err)
		}
		if succ == threshold(r.probe.SuccessThreshold) && !r.onResult(true) ||
			fail == threshold(r.probe.FailureThreshold, 3) && !r.onResult(false) {
			return
		}
		if !wait(ctx, period) {
			return
		}
	}
}

// seconds is n seconds, or def seconds when n is not set.
func seconds(n, def int32) time.Duration {
	if n <= 0 {
		n = def
	}
	return time.Duration(n) * time.Second
}

// threshold is n, or def (1 when not given) when n is not set.
func threshold(n int32, def ...int32) int {
	if n > 0 {
		return int(n)
	}
	if len(def) > 0 {
		return int(def[0])
	}
	return 1
}

// wait sleeps for d and reports false when ctx ends first.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// probeCheck builds the check of probe p against the pod IP.
func probeCheck(p *corev1.Probe, c *corev1.Container, ip string) (checkFunc, error) {
	switch h := p.ProbeHandler; {
	case h.HTTPGet != nil:
		port, err := resolvePort(h.HTTPGet.Port, c)
		if err != nil {
			return nil, err
		}
		return httpCheck(h.HTTPGet, ip, port), nil
	case h.TCPSocket != nil:
		port, err := resolvePort(h.TCPSocket.Port, c)
		if err != nil {
			return nil, err
		}
		return tcpCheck(net.JoinHostPort(ip, strconv.Itoa(port))), nil
	case h.GRPC != nil:
		service := ""
		if h.GRPC.Service != nil {
			service = *h.GRPC.Service
		}
		return grpcCheck(net.JoinHostPort(ip, strconv.Itoa(int(h.GRPC.Port))), service), nil
	}
	return nil, errors.New("the probe has no httpGet, tcpSocket or grpc handler")
}

// resolvePort turns a port number or a named port of c into a number.
func resolvePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		if port.IntVal <= 0 || port.IntVal > 65535 {
			return 0, fmt.Errorf("port %d is out of range", port.IntVal)
		}
		return int(port.IntVal), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("container %s has no port named %q", c.Name, port.StrVal)
}

// httpCheck GETs the probe's URL; any status from 200 to 399 is a success.
func httpCheck(h *corev1.HTTPGetAction, ip string, port int) checkFunc {
	host := ip
	if h.Host != "" {
		host = h.Host
	}
	scheme := "http"
	if h.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: h.Path}
	if u.Path == "" {
		u.Path = "/"
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // as the kubelet does
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		for _, hd := range h.HTTPHeaders {
			req.Header.Add(hd.Name, hd.Value)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return nil
	}
}

// tcpCheck opens and closes a connection to addr.
func tcpCheck(addr string) checkFunc {
	return func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

// grpcCheck calls grpc.health.v1.Health/Check for service on addr, on a
// connection of its own, as the kubelet does.
func grpcCheck(addr, service string) checkFunc {
	return func(ctx context.Context) error {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return fmt.Errorf("grpc health check of %s: %w", addr, err)
		}
		if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("grpc health check of %s: service %q is %s", addr, service, s)
		}
		return nil
	}
}
