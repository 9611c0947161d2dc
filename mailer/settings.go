package mailer

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// TLSMode says how the connection to the SMTP server is secured.
type TLSMode string

const (
	// TLSStartTLS connects in plain text and requires STARTTLS before
	// authenticating or sending (submission, port 587 by default).
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465 by default).
	TLSImplicit TLSMode = "tls"
	// TLSNone never encrypts (port 25 by default). With a user it is only
	// accepted for loopback hosts, so a password never crosses a network in
	// clear text.
	TLSNone TLSMode = "none"
)

// AuthMech is the SASL mechanism used when the URL has a user.
type AuthMech string

const (
	AuthPlain   AuthMech = "plain" // RFC 4616; the default
	AuthLogin   AuthMech = "login" // for servers that offer only LOGIN
	AuthCRAMMD5 AuthMech = "cram-md5"
)

// Settings is a parsed SMTP URL. The password is kept unexported so that it
// cannot be printed by accident: String, LogValue and %v show it as "xxxxx".
type Settings struct {
	Host     string // host name or IP, without brackets
	Port     int
	Username string // "" means no authentication
	From     string // envelope and header sender, as given (may include a display name)
	TLS      TLSMode
	Auth     AuthMech // "" when Username is ""

	password string
}

// ParseURL parses an SMTP URL of the form
//
//	smtp://user:pass@host[:port]?from=billing@example.com[&tls=starttls|tls|none][&auth=plain|login|cram-md5]
//
// The scheme "smtps" means tls=tls. User and password are percent-decoded
// (write "@" as %40). tls defaults to starttls; the port defaults to 587, 465 or
// 25 by TLS mode; from is required. Unknown parameters are errors, so that a
// typo does not silently change behaviour. Errors never contain the password.
func ParseURL(raw string) (Settings, error) {
	var s Settings
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return s, errors.New("mailer: SMTP URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return s, parseError(err)
	}
	switch u.Scheme {
	case "smtp", "smtps":
	case "":
		return s, errors.New(`mailer: SMTP URL needs a scheme: smtp://user:pass@host:587?from=...`)
	default:
		return s, fmt.Errorf("mailer: SMTP URL scheme %q not supported: use smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" {
		return s, errors.New("mailer: SMTP URL must start with smtp:// (opaque URLs are not supported)")
	}
	s.Host = u.Hostname()
	if s.Host == "" {
		return s, errors.New("mailer: SMTP URL has no host")
	}
	if u.Path != "" && u.Path != "/" {
		return s, fmt.Errorf("mailer: SMTP URL has a path %q: a URL names a server, not a mailbox", u.Path)
	}
	if u.Fragment != "" {
		return s, errors.New("mailer: SMTP URL has a fragment (#...); if it is part of the password, write # as %23")
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.password, _ = u.User.Password()
		if s.Username == "" {
			return s, errors.New("mailer: SMTP URL has a password but no user")
		}
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// The error may quote a piece of a password that held an unescaped "?".
		return s, errors.New("mailer: SMTP URL query is malformed (percent-encode ?, & and % in values)")
	}
	known := []string{"from", "tls", "auth"}
	for k, v := range q {
		if strings.ContainsAny(k, "@:") {
			// Likely the tail of a password with an unescaped "?": do not echo it.
			return s, errors.New("mailer: SMTP URL query is malformed (write ? in the password as %3F)")
		}
		if !slices.Contains(known, k) {
			return s, fmt.Errorf("mailer: SMTP URL parameter %q unknown (known: %s)", k, strings.Join(known, ", "))
		}
		if len(v) > 1 {
			return s, fmt.Errorf("mailer: SMTP URL parameter %q given %d times", k, len(v))
		}
	}

	s.TLS = TLSStartTLS
	if u.Scheme == "smtps" {
		s.TLS = TLSImplicit
	}
	if q.Has("tls") {
		mode := TLSMode(strings.ToLower(q.Get("tls")))
		switch mode {
		case TLSStartTLS, TLSImplicit, TLSNone:
		default:
			return s, fmt.Errorf("mailer: SMTP URL tls=%q unknown: use starttls, tls or none", q.Get("tls"))
		}
		if u.Scheme == "smtps" && mode != TLSImplicit {
			return s, fmt.Errorf("mailer: SMTP URL scheme smtps contradicts tls=%s", mode)
		}
		s.TLS = mode
	}

	switch p := u.Port(); p {
	case "":
		s.Port = map[TLSMode]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[s.TLS]
	default:
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return s, fmt.Errorf("mailer: SMTP URL port %q is not in 1-65535", p)
		}
		s.Port = n
	}

	s.From = strings.TrimSpace(q.Get("from"))
	if s.From == "" {
		return s, errors.New("mailer: SMTP URL needs from=address (the sender of notices)")
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		return s, fmt.Errorf("mailer: SMTP URL from=%q is not an email address: %v", s.From, err)
	}

	if s.Username != "" {
		s.Auth = AuthPlain
		if q.Has("auth") {
			s.Auth = AuthMech(strings.ToLower(q.Get("auth")))
			switch s.Auth {
			case AuthPlain, AuthLogin, AuthCRAMMD5:
			default:
				return s, fmt.Errorf("mailer: SMTP URL auth=%q unknown: use plain, login or cram-md5", q.Get("auth"))
			}
		}
		if s.TLS == TLSNone && !isLoopback(s.Host) {
			return s, fmt.Errorf("mailer: SMTP URL has tls=none and a password for non-loopback host %q: "+
				"the password would cross the network in clear text; use tls=starttls or tls=tls", s.Host)
		}
	} else if q.Has("auth") {
		return s, errors.New("mailer: SMTP URL has auth= but no user")
	}
	return s, nil
}

// parseError reports a url.Parse failure without echoing the URL, which
// holds the password. An escape error names the bad sequence, which may be a
// piece of the password, so only its kind is reported.
func parseError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		var esc url.EscapeError
		if errors.As(ue.Err, &esc) {
			return errors.New("mailer: SMTP URL has an invalid %-escape (in user or password write % as %25)")
		}
		var host url.InvalidHostError
		if errors.As(ue.Err, &host) {
			return errors.New("mailer: SMTP URL host is invalid (is there an unescaped / or ? in the password?)")
		}
		if strings.Contains(ue.Err.Error(), "userinfo") {
			return errors.New("mailer: SMTP URL has invalid characters in user or password (percent-encode them)")
		}
		if strings.Contains(ue.Err.Error(), "port") {
			return errors.New("mailer: SMTP URL port is invalid (is there an unescaped / or ? in the password?)")
		}
	}
	return errors.New("mailer: SMTP URL is not a valid URL")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String returns the settings as a URL with the password replaced by "xxxxx".
func (s Settings) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(s.Host, strconv.Itoa(s.Port))}
	if s.Username != "" {
		u.User = url.User(s.Username)
		if s.password != "" {
			u.User = url.UserPassword(s.Username, "xxxxx")
		}
	}
	q := url.Values{"from": {s.From}, "tls": {string(s.TLS)}}
	if s.Auth != "" {
		q.Set("auth", string(s.Auth))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// LogValue makes slog print the redacted String, never the password.
func (s Settings) LogValue() slog.Value { return slog.StringValue(s.String()) }

// GoString keeps %#v from printing the unexported password.
func (s Settings) GoString() string { return "mailer.Settings(" + s.String() + ")" }
