package sticky

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// startDNS serves A records for name (a fully qualified name such as
// "greetserver.test.") on a loopback UDP port, and answers every other
// question with no records. It returns the server's "host:port".
func startDNS(t *testing.T, name string, ips []string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening for DNS: %v", err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: aRecords(name, ips), NotifyStartedFunc: func() { close(started) }}
	served := make(chan error, 1)
	go func() { served <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-served:
		t.Fatalf("serving DNS: %v", err)
	}
	t.Cleanup(func() {
		_ = srv.Shutdown()
		<-served
	})
	return pc.LocalAddr().String()
}

// aRecords answers A questions for name with ips, AAAA questions for name
// with no records, and any other name with NXDOMAIN.
func aRecords(name string, ips []string) dns.HandlerFunc {
	return func(w dns.ResponseWriter, req *dns.Msg) {
		resp := new(dns.Msg).SetReply(req)
		resp.Authoritative = true
		for _, q := range req.Question {
			switch {
			case q.Name != name:
				resp.Rcode = dns.RcodeNameError
			case q.Qtype == dns.TypeA:
				resp.Answer = append(resp.Answer, answers(q, ips)...)
			}
		}
		_ = w.WriteMsg(resp)
	}
}

func answers(q dns.Question, ips []string) []dns.RR {
	rrs := make([]dns.RR, 0, len(ips))
	for _, ip := range ips {
		hdr := dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30}
		rrs = append(rrs, &dns.A{Hdr: hdr, A: net.ParseIP(ip)})
	}
	return rrs
}
