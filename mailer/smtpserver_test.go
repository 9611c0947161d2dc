package mailer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message accepted by the test server.
type received struct {
	From string
	To   []string
	Data []byte
}

// testServer is a real SMTP server (go-smtp) on a loopback port that records
// what it accepts. It can require AUTH PLAIN and reject DATA on demand.
type testServer struct {
	Host string
	Port int

	user, pass string
	// echoPassword makes an auth failure quote the password it was sent, like
	// a careless server, to prove the mailer redacts it.
	echoPassword bool
	stall        chan struct{}

	mu         sync.Mutex
	msgs       []received
	rejectData int // reject the next n DATA commands with a temporary 451
	dataTries  int // DATA commands seen, accepted or not
	opened     int // sessions started
	closed     int // sessions ended
}

type serverOpts struct {
	user, pass   string
	echoPassword bool
	tls          *tls.Config // STARTTLS offered when set (and implicit TLS with implicit)
	implicit     bool
	listen       string        // default "127.0.0.1:0"
	stall        chan struct{} // when set, DATA waits until it is closed
}

func startServer(t testing.TB, o serverOpts) *testServer {
	t.Helper()
	ts := &testServer{user: o.user, pass: o.pass, echoPassword: o.echoPassword, stall: o.stall}
	srv := smtp.NewServer(ts)
	srv.Domain = "mx.test"
	// Longer than waitFor, so a connection the client leaks stays visible.
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.AllowInsecureAuth = o.tls == nil // plain TCP on loopback; with TLS, AUTH only after it
	if o.listen == "" {
		o.listen = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", o.listen)
	if err != nil {
		if o.listen != "127.0.0.1:0" {
			t.Skipf("cannot listen on %s: %v", o.listen, err)
		}
		t.Fatal(err)
	}
	if o.tls != nil {
		srv.TLSConfig = o.tls
		if o.implicit {
			l = tls.NewListener(l, o.tls)
		}
	}
	addr := l.Addr().(*net.TCPAddr)
	ts.Host, ts.Port = addr.IP.String(), addr.Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		// go-smtp's Close misses a listener that Serve has not registered
		// yet, leaving Serve in Accept forever; closing it ourselves cannot.
		l.Close()
		<-done
	})
	return ts
}

// Addr is host:port.
func (ts *testServer) Addr() string { return net.JoinHostPort(ts.Host, strconv.Itoa(ts.Port)) }

func (ts *testServer) Messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

func (ts *testServer) DataTries() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.dataTries
}

func (ts *testServer) RejectData(n int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.rejectData = n
}

// Sessions reports sessions opened and ended so far.
func (ts *testServer) Sessions() (opened, closed int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.opened, ts.closed
}

func (ts *testServer) NewSession(*smtp.Conn) (smtp.Session, error) {
	ts.mu.Lock()
	ts.opened++
	ts.mu.Unlock()
	return &testSession{srv: ts}, nil
}

type testSession struct {
	srv    *testServer
	authed bool
	cur    received
}

func (s *testSession) AuthMechanisms() []string {
	if s.srv.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *testSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.user || pass != s.srv.pass {
			msg := "bad credentials"
			if s.srv.echoPassword {
				msg += " (got " + pass + ")"
			}
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: msg}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.cur = received{From: from}
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.srv.stall != nil {
		<-s.srv.stall
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.dataTries++
	if s.srv.rejectData > 0 {
		s.srv.rejectData--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.cur.Data = b
	s.srv.msgs = append(s.srv.msgs, s.cur)
	return nil
}

func (s *testSession) Reset() { s.cur = received{} }

func (s *testSession) Logout() error {
	s.srv.mu.Lock()
	s.srv.closed++
	s.srv.mu.Unlock()
	return nil
}

// selfSigned returns a server TLS config for 127.0.0.1 and a client config
// that trusts it.
func selfSigned(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailer test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return server, &tls.Config{RootCAs: pool}
}

var errTimeout = errors.New("timed out")

// waitFor polls cond until it holds or 10 s pass: a bound for an event to
// happen, not a speed assertion.
func waitFor(t testing.TB, cond func() bool) error {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return errTimeout
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}
