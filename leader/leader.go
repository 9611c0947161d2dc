// Package leader runs the jobs that must run on one instance at a time (the
// reconciler, the mail sender, the expired-link sweep) wherever several
// portals share one store.
//
// An Elector decides which instance runs a job. With the embedded bbolt store
// there is one instance, so Local runs every job at once; the PostgreSQL
// store's elector (store/postgres) holds a session advisory lock per job and
// hands the job to another instance when its holder dies.
package leader

import "context"

// Elector runs a job only while this instance holds the job's lock.
type Elector interface {
	// Run runs job while this instance leads name, and again each time it
	// wins the lock back, until ctx ends. The job's context ends when
	// leadership is lost; the job must then return. Run returns when ctx
	// ends and the job has returned.
	Run(ctx context.Context, name string, job func(context.Context))
}

// Local is the Elector of a single instance: it always leads.
type Local struct{}

// Run runs job once with ctx.
func (Local) Run(ctx context.Context, _ string, job func(context.Context)) { job(ctx) }
