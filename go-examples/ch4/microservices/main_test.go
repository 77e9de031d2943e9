package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// pki 在临时目录里生成一个 CA、一张由它签发的证书（服务端与客户端共用），写成 PEM 文件。
type pki struct{ ca, cert, key string }

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newPKI(t *testing.T, dir, prefix string) pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: prefix + " CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	p := pki{
		ca:   filepath.Join(dir, prefix+"-ca.pem"),
		cert: filepath.Join(dir, prefix+"-cert.pem"),
		key:  filepath.Join(dir, prefix+"-key.pem"),
	}
	writePEM(t, p.ca, "CERTIFICATE", caDER)
	writePEM(t, p.cert, "CERTIFICATE", der)
	writePEM(t, p.key, "EC PRIVATE KEY", keyDER)
	return p
}

// startService 用 handler 起一个 httptest 服务；server 非空时开 TLS（有 CA 即双向）。
func startService(t *testing.T, name, next string, server, down TLSFiles) *httptest.Server {
	t.Helper()
	clients, err := clientsFor(down, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(handler(name, next, clients))
	if server.enabled() {
		cfg, err := serverTLS(server)
		if err != nil {
			t.Fatal(err)
		}
		srv.TLS = cfg
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestChainAnswersEveryModePlainTLSAndMutualTLS(t *testing.T) {
	p := newPKI(t, t.TempDir(), "main")
	setups := map[string]struct{ server, client TLSFiles }{
		"plain": {},
		"tls":   {TLSFiles{Cert: p.cert, Key: p.key}, TLSFiles{CA: p.ca}},
		"mtls":  {TLSFiles{Cert: p.cert, Key: p.key, CA: p.ca}, TLSFiles{Cert: p.cert, Key: p.key, CA: p.ca}},
	}
	for label, s := range setups {
		leaf := startService(t, "leaf", "", s.server, s.client)
		b := startService(t, "b", leaf.URL, s.server, s.client)
		a := startService(t, "a", b.URL, s.server, s.client)
		for _, mode := range modes {
			st, err := probe(a.URL, mode, s.client, []string{"a", "b", "leaf"}, 2, 50*time.Millisecond, 1)
			if err != nil {
				t.Fatalf("%s/%s: %v", label, mode, err)
			}
			if st.N == 0 || st.P50 > st.P99 || st.P99 > st.Max {
				t.Fatalf("%s/%s: stats %+v", label, mode, st)
			}
			// 只有带 TLS 的 resume 才恢复会话：客户端这一跳，以及链上的两跳
			wantResume := mode == "resume" && label != "plain"
			if (st.ResumeShare > 0.5) != wantResume || (st.Resumed > 0) != wantResume {
				t.Fatalf("%s/%s: resume share %.2f, chain resumed %d", label, mode, st.ResumeShare, st.Resumed)
			}
		}
	}
}

func TestProbeFailsOnAWrongChain(t *testing.T) {
	leaf := startService(t, "leaf", "", TLSFiles{}, TLSFiles{})
	if _, err := probe(leaf.URL, "reuse", TLSFiles{}, []string{"a", "leaf"}, 1, 10*time.Millisecond, 1); err == nil {
		t.Fatal("a wrong chain must fail the probe")
	}
}

func TestConcurrentProbeKeepsSeveralRequestsInFlight(t *testing.T) {
	leaf := startService(t, "leaf", "", TLSFiles{}, TLSFiles{})
	a := startService(t, "a", leaf.URL, TLSFiles{}, TLSFiles{})
	st, err := probe(a.URL, "reuse", TLSFiles{}, []string{"a", "leaf"}, 2, 100*time.Millisecond, 8)
	if err != nil {
		t.Fatal(err)
	}
	// 利特尔法则：在路上的请求数 ≈ 吞吐 × 平均延迟；8 个并发至少要明显多于 1 个
	if inFlight := st.RPS * st.Mean; inFlight < 2 || inFlight > 8.5 {
		t.Fatalf("in flight %.2f (rps %.0f, mean %.6f s)", inFlight, st.RPS, st.Mean)
	}
}

func TestMutualTLSRefusesNoCertificateAndAnotherCA(t *testing.T) {
	dir := t.TempDir()
	p, other := newPKI(t, dir, "main"), newPKI(t, dir, "other")
	srv := startService(t, "leaf", "", TLSFiles{Cert: p.cert, Key: p.key, CA: p.ca}, TLSFiles{})
	// 没有客户端证书
	why, err := refuse(srv.URL, TLSFiles{CA: p.ca})
	if err != nil || !strings.Contains(why, "certificate required") {
		t.Fatal("no certificate:", why, err)
	}
	// 证书来自别的 CA：客户端确实出示了它，服务端验证不过
	why, err = refuse(srv.URL, TLSFiles{Cert: other.cert, Key: other.key, CA: p.ca})
	if err != nil || strings.Contains(why, "certificate required") || !strings.Contains(why, "certificate") {
		t.Fatal("another CA:", why, err)
	}
	// 对照：正确的证书被接受
	if _, err := refuse(srv.URL, TLSFiles{Cert: p.cert, Key: p.key, CA: p.ca}); err == nil {
		t.Fatal("the right certificate was refused")
	}
}

func TestHogKeepsItsLiveData(t *testing.T) {
	out := hog(4, 20*time.Millisecond)
	if out["live_mib"] != 4 || out["replaced"].(int) <= 0 {
		t.Fatalf("hog: %v", out)
	}
}

func TestQuantile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if quantile(s, 0.5) != 5 || quantile(s, 0.9) != 9 || quantile(s, 0.99) != 10 {
		t.Fatal("quantile")
	}
	if !slices.Equal(splitList("a,b"), []string{"a", "b"}) || splitList("") != nil {
		t.Fatal("splitList")
	}
}
