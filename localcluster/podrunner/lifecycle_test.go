package podrunner

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/localcluster/netns/netnstest"

	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/roundabout-dev/roundabout/localcluster/netns"
	"github.com/roundabout-dev/roundabout/test/procs"
)

// writeScript makes an executable shell script named name in dir.
func writeScript(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestInitSidecarAndRestartOrder runs, with a fake API, a pod whose init
// container must finish before its sidecar starts, and whose container
// checks both and crashes, to be restarted with back-off.
func TestInitSidecarAndRestartOrder(t *testing.T) {
	netnstest.Require(t)
	if !netns.NodeMode() {
		t.Skip("needs the node namespace of netns.ReexecNode")
	}
	bin, shared := t.TempDir(), t.TempDir()
	writeScript(t, bin, "init", `sleep 0.3; touch "$SHARED/init-done"`)
	writeScript(t, bin, "side", `[ -f "$SHARED/init-done" ] && echo $$ > "$SHARED/side.pid"; exec sleep 1000`)
	writeScript(t, bin, "app", `echo app run; [ -f "$SHARED/side.pid" ] && exit 7; exit 9`)
	client := fake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logAddr := net.JoinHostPort(netns.NodeIP, strconv.Itoa(procs.FreePort(t, netns.NodeIP)))
	go func() {
		done <- Run(ctx, Config{Client: client, NodeName: testNode, NodeIP: netns.NodeIP, PodIPFirst: "10.244.0.130",
			PodIPLast: "10.244.0.139", Images: Images{Dir: bin}, Dir: t.TempDir(), DNSIP: "10.0.0.10",
			ClusterDomain: "cluster.local", LogAddr: logAddr, Log: zaptest.NewLogger(t)})
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			t.Error("Run did not return within 40s")
		}
	}()
	pods := client.CoreV1().Pods("ns")
	if _, err := pods.Create(ctx, orderPod(shared), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "app restarted twice after exiting 7", func() error {
		pod, err := pods.Get(ctx, "order", metav1.GetOptions{})
		if err != nil {
			return err
		}
		return checkOrder(pod)
	})
	pid := readPid(t, filepath.Join(shared, "side.pid"))
	if err := pods.Delete(ctx, "order", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "sidecar stopped after the pod was removed", func() error {
		if syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("sidecar pid %d still runs", pid)
		}
		return nil
	})
}

func orderPod(shared string) *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	env := []corev1.EnvVar{{Name: "PATH", Value: "/usr/bin:/bin"}, {Name: "SHARED", Value: shared}}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "order", UID: "order-uid"},
		Spec: corev1.PodSpec{NodeName: testNode,
			InitContainers: []corev1.Container{{Name: "init", Image: "init", Env: env},
				{Name: "side", Image: "side", Env: env, RestartPolicy: &always}},
			Containers: []corev1.Container{{Name: "app", Image: "app", Env: env}},
		},
	}
}

// checkOrder wants the init container completed, the sidecar running and
// the app restarted at least twice, having seen the sidecar each time.
func checkOrder(pod *corev1.Pod) error {
	s := pod.Status
	if len(s.InitContainerStatuses) != 2 || len(s.ContainerStatuses) != 1 {
		return fmt.Errorf("statuses %+v %+v", s.InitContainerStatuses, s.ContainerStatuses)
	}
	initTerm, side, app := s.InitContainerStatuses[0].State.Terminated, s.InitContainerStatuses[1], s.ContainerStatuses[0]
	last := app.LastTerminationState.Terminated
	switch {
	case initTerm == nil || initTerm.ExitCode != 0:
		return fmt.Errorf("init %+v, want terminated with 0", s.InitContainerStatuses[0].State)
	case side.State.Running == nil:
		return fmt.Errorf("sidecar %+v, want running", side.State)
	case app.RestartCount < 2 || last == nil || last.ExitCode != 7:
		return fmt.Errorf("app %+v, want 2 restarts after exit code 7", app)
	case s.Phase != corev1.PodRunning:
		return fmt.Errorf("phase %s, want Running", s.Phase)
	}
	return nil
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
