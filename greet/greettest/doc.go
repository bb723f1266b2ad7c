// Package greettest runs greet servers inside a test process, on real
// loopback listeners, so that tests exercise the same gRPC transport,
// connection handling and load balancing as a cluster does.
//
// 127.0.0.0/8 is entirely on the loopback interface, so each server can stand
// for one pod with its own IP (127.0.0.2, 127.0.0.3, ...) and a shared port,
// the way pods behind a Service share a targetPort:
//
//	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3"}, 50051)
//	resp, _ := client.Greet(ctx, req)
//	name, _ := greetserver.PodName(resp.GetResult()) // "greet-0" or "greet-1"
//
// Every server is stopped when the test ends.
package greettest
