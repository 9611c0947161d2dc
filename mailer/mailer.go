package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portal/portal/store"
	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// pollInterval is the slow ticker of Run: a safety net for feed drops and
// for notices whose retry time has come while nothing else happened.
const pollInterval = time.Minute

// Defaults for Config.
const (
	DefaultMaxTries = 10
	defaultTimeout  = 30 * time.Second
)

// DefaultBackoff waits one minute after the first failure and doubles per
// failure up to an hour: with DefaultMaxTries a notice is tried for about four
// hours before the mailer gives up.
func DefaultBackoff(tries int) time.Duration {
	if tries < 1 {
		tries = 1
	}
	if tries > 7 {
		return time.Hour
	}
	return min(time.Minute<<(tries-1), time.Hour)
}

// Config configures a Mailer. Only Store is required once URL is set.
type Config struct {
	URL    string      // SMTP URL (see ParseURL); "" disables mail
	Store  store.Store // required
	Logger *slog.Logger
	Now    func() time.Time // default time.Now
	// Backoff is the wait before the next try of a notice that has failed
	// tries times (tries >= 1). Default DefaultBackoff.
	Backoff func(tries int) time.Duration
	// MaxTries is how many failed tries a notice gets before the mailer gives
	// up on it; it then stays in the outbox with its MailError. Default
	// DefaultMaxTries.
	MaxTries int
	// TLSConfig, when set, is used for STARTTLS and implicit TLS (for a
	// private CA, say). nil uses the system roots. ServerName defaults to the
	// URL's host.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each SMTP command. Default 30s.
	Timeout time.Duration
	// Observe, when set, hears each try: sent or not (for metrics).
	Observe func(sent bool)
}

// Mailer drains the store's outbox over SMTP. A nil *Mailer is a disabled
// mailer: Run waits for its context and Flush does nothing.
type Mailer struct {
	settings   Settings
	fromDomain string
	client     *gomail.Client
	tlsConfig  *tls.Config
	timeout    time.Duration
	db         store.Store
	log        *slog.Logger
	now        func() time.Time
	backoff    func(int) time.Duration
	maxTries   int

	mu sync.Mutex // one pass at a time; guards retryAt
	// retryAt holds when a failed notice is due again only while the store
	// could not record its try; the schedule itself is the notice's
	// MailNextAt, in the store, so a restart keeps the backoff.
	retryAt map[string]time.Time
	// lastConn is the socket dial opened for the current connect, guarded by mu.
	lastConn net.Conn
	observe  func(sent bool) // nil: nobody
}

// New returns a Mailer for cfg, or nil and no error when cfg.URL is empty
// (mail disabled; notices stay in the outbox). It does not connect: a server
// that is down shows up as notice errors, not as a startup failure.
func New(cfg Config) (*Mailer, error) {
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, nil
	}
	if cfg.Store == nil {
		return nil, errors.New("mailer: Config.Store is required")
	}
	s, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	m := &Mailer{
		settings: s,
		db:       cfg.Store,
		log:      cfg.Logger,
		now:      cfg.Now,
		backoff:  cfg.Backoff,
		maxTries: cfg.MaxTries,
		timeout:  cfg.Timeout,
		retryAt:  make(map[string]time.Time),
		observe:  cfg.Observe,
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.observe == nil {
		m.observe = func(bool) {}
	}
	if m.backoff == nil {
		m.backoff = DefaultBackoff
	}
	if m.maxTries <= 0 {
		m.maxTries = DefaultMaxTries
	}
	if m.timeout <= 0 {
		m.timeout = defaultTimeout
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil { // ParseURL checked it; kept for safety of the split below
		return nil, fmt.Errorf("mailer: from address: %v", err)
	}
	m.fromDomain = from.Address[strings.LastIndexByte(from.Address, '@')+1:]

	m.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		m.tlsConfig = cfg.TLSConfig.Clone()
	}
	if m.tlsConfig.ServerName == "" {
		m.tlsConfig.ServerName = s.Host
	}

	opts := []gomail.Option{
		gomail.WithPort(s.Port),
		gomail.WithTimeout(m.timeout),
		gomail.WithTLSConfig(m.tlsConfig),
		// Our dialer (see dial) does the implicit TLS handshake itself.
		gomail.WithDialContextFunc(m.dial),
	}
	switch s.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit, TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(authType(s)),
			gomail.WithUsername(s.Username), gomail.WithPassword(s.password))
	}
	c, err := gomail.NewClient(s.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mailer: %s: %w", s, m.redact(err))
	}
	m.client = c
	return m, nil
}

// authType maps the URL's mechanism to go-mail's. PLAIN and LOGIN without
// TLS are only reachable for loopback hosts (ParseURL refuses others), where
// go-mail needs the NOENC variants for hosts other than "localhost",
// "127.0.0.1" and "::1".
func authType(s Settings) gomail.SMTPAuthType {
	switch s.Auth {
	case AuthLogin:
		if s.TLS == TLSNone {
			return gomail.SMTPAuthLoginNoEnc
		}
		return gomail.SMTPAuthLogin
	case AuthCRAMMD5:
		return gomail.SMTPAuthCramMD5
	default:
		if s.TLS == TLSNone {
			return gomail.SMTPAuthPlainNoEnc
		}
		return gomail.SMTPAuthPlain
	}
}

// Settings returns the parsed SMTP settings (print them freely: the password
// is redacted). A nil Mailer returns the zero Settings.
func (m *Mailer) Settings() Settings {
	if m == nil {
		return Settings{}
	}
	return m.settings
}

// dial connects to the server for go-mail. Dialing ourselves fixes two things
// in go-mail v0.8.1: it formats the address as host:port, which breaks IPv6
// literals, and it leaves the socket open when the greeting, STARTTLS or AUTH
// fails (see connect). For implicit TLS it completes the handshake here.
func (m *Mailer) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	addr := net.JoinHostPort(m.settings.Host, strconv.Itoa(m.settings.Port))
	d := &net.Dialer{Timeout: m.timeout}
	var conn net.Conn
	var err error
	if m.settings.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: m.tlsConfig}).DialContext(ctx, network, addr)
	} else {
		conn, err = d.DialContext(ctx, network, addr)
	}
	if err != nil {
		return nil, err
	}
	m.lastConn = conn
	return conn, nil
}

// connect opens an authenticated SMTP session. On failure it closes the
// socket go-mail leaves behind.
func (m *Mailer) connect(ctx context.Context) (*smtp.Client, error) {
	m.lastConn = nil
	c, err := m.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if m.lastConn != nil {
			m.lastConn.Close()
		}
		return nil, err
	}
	return c, nil
}

// redact removes the password from an error's text. go-mail does not put it
// in errors, but a server may echo what it was sent, and a stored MailError
// or a log line is no place for it.
func (m *Mailer) redact(err error) error {
	if err == nil {
		return nil
	}
	p := m.settings.password
	if p == "" || !strings.Contains(err.Error(), p) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), p, "xxxxx"))
}
