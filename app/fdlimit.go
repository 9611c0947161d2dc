package app

import "log/slog"

// fdReserve is the descriptors set aside for all but client connections:
// listeners, the store's files, outbound connections (Stripe, SMTP,
// PostgreSQL's pool), the data dir's watchers.
const fdReserve = 256

// checkFDLimit warns when the connection caps do not fit in nofile, the
// process's open-file limit (Go raises the soft limit to the hard one at
// start): past it every accept fails, for SSH and HTTP clients alike, so
// the caps would not keep a flood from taking the portal down.
func checkFDLimit(log *slog.Logger, nofile uint64, sshConns, httpConns int) {
	if need := uint64(sshConns) + uint64(httpConns) + fdReserve; nofile < need {
		log.Warn("connection caps exceed the open-file limit, so a flood of connections would exhaust descriptors for every client; "+
			"lower -max-conns and -http-max-conns, or raise the limit (ulimit -n, systemd LimitNOFILE)",
			"nofile", nofile, "needed", need, "max_conns", sshConns, "http_max_conns", httpConns)
	}
}
