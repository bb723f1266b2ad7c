// Command fanout measures what many agents watching one Service cost the
// Kubernetes API server, and how fast an EndpointSlice change reaches them.
//
// It starts the local control plane (etcd and kube-apiserver, from the
// binaries hack/controlplane builds; KUBEBUILDER_ASSETS names them), creates
// one Service and its EndpointSlice, and starts -n watchers. Each watcher is
// what one agent runs for an upstream: the agent's own discovery code
// (agent/discovery/kubernetes, Source.Watch) with a client and an informer of
// its own, on a TCP connection of its own to the API server. It then adds
// one endpoint to the slice -changes times and reports:
//
//   - propagation: for every watcher and change, the time from the update
//     call returning to the watcher's update callback receiving the set with
//     the new endpoint, and the same from the call's start; p50, p99 and
//     max over all of them;
//
//   - the API server's VmRSS before the watchers and once they all synced;
//
//   - the API server's CPU (utime+stime) per watcher per change, less what
//     it spends idle over the same time;
//
//   - the same for changes to another Service's slice, which the watchers
//     do not follow.
//
// With -kube-proxy each watcher watches instead as kube-proxy does on every
// node: all EndpointSlices of the cluster, through one informer.
//
//	eval "$(hack/controlplane/env.sh)" && go run ./hack/fanout -n 1000
//
// The watchers run in this one process, so at large N the propagation
// figures include this process's own CPU contention on a small machine;
// its CPU per change is printed too.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/roundabout-dev/roundabout/agent/discovery"
	kubediscovery "github.com/roundabout-dev/roundabout/agent/discovery/kubernetes"
	"github.com/roundabout-dev/roundabout/hack/lib/procstat"
	"github.com/roundabout-dev/roundabout/localcluster/controlplane"
)

type options struct {
	watchers  int
	changes   int
	unrelated int
	endpoints int
	batch     int
	kubeProxy bool
	settle    time.Duration
	timeout   time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.watchers, "n", 100, "watchers, each one agent's discovery of the Service")
	flag.IntVar(&o.changes, "changes", 20, "endpoint additions to the EndpointSlice, one at a time")
	flag.IntVar(&o.unrelated, "unrelated", 20, "then, changes to another Service's EndpointSlice, which the watchers do not follow")
	flag.BoolVar(&o.kubeProxy, "kube-proxy", false, "watch as kube-proxy does instead: every EndpointSlice of the cluster, "+
		"one informer per watcher (one per node in a cluster)")
	flag.IntVar(&o.endpoints, "endpoints", 10, "endpoints in the EndpointSlice at the start")
	flag.IntVar(&o.batch, "batch", 100, "watchers started at once; the next batch starts once they have synced")
	flag.DurationVar(&o.settle, "settle", 5*time.Second, "quiet time before each memory and idle CPU reading")
	flag.DurationVar(&o.timeout, "timeout", 4*time.Minute, "the whole run's limit")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

const (
	namespace = "fanout"
	service   = "fan"
	other     = "other"
	portName  = "grpc"
	port      = 50051
)

func run(o options) error {
	if o.watchers < 1 || o.changes < 1 || o.endpoints < 1 || o.batch < 1 {
		return errors.New("-n, -changes, -endpoints and -batch must be at least 1")
	}
	assets := controlplane.Assets()
	if assets == "" {
		return errors.New(controlplane.SkipMessage)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelRun := context.WithTimeout(ctx, o.timeout)
	defer cancelRun()

	start := time.Now()
	c, err := controlplane.Start(assets)
	if err != nil {
		return err
	}
	defer c.Stop()
	api, err := childNamed("kube-apiserver")
	if err != nil {
		return err
	}
	fmt.Printf("control plane up in %.1f s; kube-apiserver pid %d\n", time.Since(start).Seconds(), api)

	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	slice, err := setUp(ctx, cs, service, o.endpoints, true)
	if err != nil {
		return err
	}
	otherSlice, err := setUp(ctx, cs, other, o.endpoints, false)
	if err != nil {
		return err
	}

	sleep(ctx, o.settle)
	rssBefore := vmRSS(api)
	idleStart, idleCPU := time.Now(), cpuTime(api)
	sleep(ctx, o.settle)
	idleRate := float64(cpuTime(api)-idleCPU) / float64(time.Since(idleStart)) // API server CPU per wall time, idle

	fleet := &fleet{base: o.endpoints}
	syncStart := time.Now()
	for started := 0; started < o.watchers; {
		n := min(o.batch, o.watchers-started)
		for range n {
			if err := fleet.start(ctx, c.Config, o.changes, o.kubeProxy); err != nil {
				return err
			}
		}
		started += n
		if err := fleet.wait(ctx, 0, started); err != nil {
			return fmt.Errorf("%d watchers started, not all synced: %w", started, err)
		}
	}
	syncTook := time.Since(syncStart)
	sleep(ctx, o.settle)
	rssAfter := vmRSS(api)
	fmt.Printf("%d watchers synced in %.1f s\n", o.watchers, syncTook.Seconds())

	var lat, latCall []time.Duration
	var calls time.Duration
	selfBefore := cpuTime(os.Getpid())
	changeStart, apiBefore := time.Now(), cpuTime(api)
	for k := 1; k <= o.changes; k++ {
		slice.Endpoints = append(slice.Endpoints, endpoint(o.endpoints+k-1))
		call := time.Now()
		updated, err := cs.DiscoveryV1().EndpointSlices(namespace).Update(ctx, slice, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("change %d: %w", k, err)
		}
		sent := time.Now()
		calls += sent.Sub(call)
		slice = updated
		if err := fleet.wait(ctx, k, o.watchers); err != nil {
			return fmt.Errorf("change %d: %w", k, err)
		}
		lat = append(lat, fleet.since(k, sent)...)
		latCall = append(latCall, fleet.since(k, call)...)
		sleep(ctx, 200*time.Millisecond)
	}
	changeTook := time.Since(changeStart)
	apiCPU := cpuTime(api) - apiBefore
	selfCPU := cpuTime(os.Getpid()) - selfBefore
	apiNet := time.Duration(float64(apiCPU) - idleRate*float64(changeTook))

	// Changes the watchers do not follow, one every 200 ms: what a change
	// elsewhere costs per watcher.
	otherStart, otherBefore := time.Now(), cpuTime(api)
	for k := 1; k <= o.unrelated; k++ {
		otherSlice.Endpoints = append(otherSlice.Endpoints, endpoint(o.endpoints+k-1))
		updated, err := cs.DiscoveryV1().EndpointSlices(namespace).Update(ctx, otherSlice, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("unrelated change %d: %w", k, err)
		}
		otherSlice = updated
		sleep(ctx, 200*time.Millisecond)
	}
	otherNet := time.Duration(float64(cpuTime(api)-otherBefore) - idleRate*float64(time.Since(otherStart)))

	slices.Sort(lat)
	slices.Sort(latCall)
	perWatchRSS := float64(rssAfter-rssBefore) / float64(o.watchers)
	fmt.Println()
	fmt.Println("| watchers | changes | sync all | propagation p50 / p99 / max, from the update call's return | from its start | API server VmRSS before → after | per watcher | API server CPU per watcher per change (net of idle) | this process's CPU per change |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	fmt.Printf("| %d | %d | %.1f s | %s / %s / %s | %s / %s / %s | %s → %s | %.0f KiB | %.1f µs (%.1f µs raw) | %.0f ms |\n",
		o.watchers, o.changes, syncTook.Seconds(), ms(pct(lat, 0.50)), ms(pct(lat, 0.99)), ms(lat[len(lat)-1]),
		ms(pct(latCall, 0.50)), ms(pct(latCall, 0.99)), ms(latCall[len(latCall)-1]),
		mib(rssBefore), mib(rssAfter), perWatchRSS/1024,
		float64(apiNet)/float64(time.Microsecond)/float64(o.watchers*o.changes),
		float64(apiCPU)/float64(time.Microsecond)/float64(o.watchers*o.changes),
		float64(selfCPU)/float64(time.Millisecond)/float64(o.changes))
	mode := "the agent's discovery (one Service's slices)"
	if o.kubeProxy {
		mode = "kube-proxy's watch (every slice of the cluster)"
	}
	fmt.Printf("\nwatchers: %s\n", mode)
	fmt.Printf("API server CPU per change, net of idle: %.2f ms for a change the watchers follow", float64(apiNet)/float64(time.Millisecond)/float64(o.changes))
	if o.unrelated > 0 {
		fmt.Printf(", %.2f ms (%.1f µs per watcher) for one to another Service's slice, over %d changes",
			float64(otherNet)/float64(time.Millisecond)/float64(o.unrelated),
			float64(otherNet)/float64(time.Microsecond)/float64(o.watchers*o.unrelated), o.unrelated)
	}
	fmt.Println()
	fmt.Printf("update call %s on average (a watcher may see a change before the call returns: negative figures);"+
		" API server idle CPU %.2f%% of a core; changes took %.1f s in all; whole run %.0f s\n",
		ms(calls/time.Duration(o.changes)), 100*idleRate, changeTook.Seconds(), time.Since(start).Seconds())
	cancelRun()
	fleet.stop()
	return nil
}

// setUp creates (with the namespace, when ns is set) a Service named name
// without a selector (nothing manages its slice but this command) and its
// one EndpointSlice with n ready endpoints.
func setUp(ctx context.Context, cs *kubernetes.Clientset, name string, n int, ns bool) (*discoveryv1.EndpointSlice, error) {
	if ns {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
			metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	service := name
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: service, Namespace: namespace},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: portName, Port: port}}}}
	if _, err := cs.CoreV1().Services(namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	pname, number := portName, int32(port)
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: service + "-1", Namespace: namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &pname, Port: &number}},
	}
	for i := range n {
		s.Endpoints = append(s.Endpoints, endpoint(i))
	}
	return cs.DiscoveryV1().EndpointSlices(namespace).Create(ctx, s, metav1.CreateOptions{})
}

// endpoint is the i-th pod address, ready: 10.244.x.y, never dialled.
func endpoint(i int) discoveryv1.Endpoint {
	ready := true
	return discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.244.%d.%d", 1+i/250, 1+i%250)},
		Conditions: discoveryv1.EndpointConditions{Ready: &ready}}
}

// fleet is the watchers. Watcher w records in seen[w][k] when its update
// callback first receives base+k endpoints: k = 0 is the first sync.
type fleet struct {
	base int
	wg   sync.WaitGroup

	mu      sync.Mutex
	seen    [][]time.Time
	cancels []context.CancelFunc
	errs    []error
	counts  []atomic.Int64 // watchers that have seen change k
}

func (f *fleet) start(ctx context.Context, cfg *rest.Config, changes int, kubeProxy bool) error {
	c := rest.CopyConfig(cfg)
	// A dialler of its own keeps client-go from sharing one cached
	// transport, and so one TCP connection, among all the watchers: each
	// agent has its own connection to the API server.
	c.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	c.UserAgent = "roundabout-agent"
	sl, err := kubediscovery.RESTSlices(c)
	if err != nil {
		return err
	}
	follow := func(ctx context.Context, update func(size int)) error {
		src := kubediscovery.New(sl, kubediscovery.Upstream{Service: service, Namespace: namespace, Port: portName}, nil)
		return src.Watch(ctx, func(set []discovery.Endpoint) { update(len(set)) })
	}
	if kubeProxy {
		follow = func(ctx context.Context, update func(size int)) error { return watchAll(ctx, sl, update) }
	}

	f.mu.Lock()
	if f.counts == nil {
		f.counts = make([]atomic.Int64, changes+1)
	}
	w := len(f.seen)
	f.seen = append(f.seen, make([]time.Time, changes+1))
	wctx, cancel := context.WithCancel(ctx)
	f.cancels = append(f.cancels, cancel)
	f.mu.Unlock()

	f.wg.Go(func() {
		err := follow(wctx, func(size int) { f.update(w, size) })
		if err != nil {
			f.mu.Lock()
			f.errs = append(f.errs, err)
			f.mu.Unlock()
		}
	})
	return nil
}

func (f *fleet) update(w, size int) {
	now := time.Now()
	k := size - f.base
	f.mu.Lock()
	defer f.mu.Unlock()
	if k < 0 || k >= len(f.seen[w]) || !f.seen[w][k].IsZero() {
		return
	}
	f.seen[w][k] = now
	f.counts[k].Add(1)
}

// wait returns once n watchers have seen change k.
func (f *fleet) wait(ctx context.Context, k, n int) error {
	for f.counts[k].Load() < int64(n) {
		if ctx.Err() != nil {
			f.mu.Lock()
			errs := errors.Join(f.errs...)
			f.mu.Unlock()
			return fmt.Errorf("%d of %d watchers saw it: %w", f.counts[k].Load(), n, errors.Join(ctx.Err(), errs))
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// since is, for every watcher, how long after sent it saw change k.
func (f *fleet) since(k int, sent time.Time) []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]time.Duration, 0, len(f.seen))
	for _, s := range f.seen {
		out = append(out, s[k].Sub(sent))
	}
	return out
}

func (f *fleet) stop() {
	f.mu.Lock()
	for _, c := range f.cancels {
		c()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// childNamed is the pid of this process's child whose command is name.
func childNamed(name string) (int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return 0, err
	}
	me := os.Getpid()
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		st, err := procstat.ReadStat(pid)
		if err != nil || st.Comm != name || st.PPID != me {
			continue
		}
		return pid, nil
	}
	return 0, fmt.Errorf("no child process named %s", name)
}

// cpuTime is the process's utime+stime, or 0 when it cannot be read.
func cpuTime(pid int) time.Duration {
	st, err := procstat.ReadStat(pid)
	if err != nil {
		return 0
	}
	return st.CPU
}

// vmRSS is the process's resident set in bytes, or 0 when it cannot be
// read.
func vmRSS(pid int) int64 {
	st, err := procstat.ReadStatus(pid, "VmRSS")
	if err != nil {
		return 0
	}
	return st["VmRSS"] << 10
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func pct(d []time.Duration, q float64) time.Duration {
	return d[min(len(d)-1, int(q*float64(len(d))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// kubeProxySelector is the label selector of kube-proxy's EndpointSlice
// informer: every slice of the cluster but headless Services' and those of
// Services another proxy serves.
const kubeProxySelector = "!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name"

// watchAll watches as kube-proxy does, every EndpointSlice of the cluster
// through one informer, and calls update with the number of endpoints of
// the followed Service's slice whenever it is added or changes.
func watchAll(ctx context.Context, sl kubediscovery.Slices, update func(size int)) error {
	all := sl(metav1.NamespaceAll)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.LabelSelector = kubeProxySelector
			return all.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.LabelSelector = kubeProxySelector
			return all.Watch(ctx, opts)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &discoveryv1.EndpointSlice{}, 0, cache.Indexers{})
	seen := func(obj any) {
		if s, ok := obj.(*discoveryv1.EndpointSlice); ok && s.Namespace == namespace && s.Labels[discoveryv1.LabelServiceName] == service {
			update(len(s.Endpoints))
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    seen,
		UpdateFunc: func(_, obj any) { seen(obj) },
	}); err != nil {
		return err
	}
	inf.RunWithContext(ctx)
	return nil
}
