package common

import "context"

type identityKey struct{}

// IdentityFrom returns the identity the SSH layer's identity middleware
// (sshserver) put on the session's context.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// ValueSetter is a context that takes values, as an SSH session's does.
type ValueSetter interface {
	SetValue(key, value any)
}

// SetIdentity puts id on the session's context, for IdentityFrom.
func SetIdentity(ctx ValueSetter, id Identity) { ctx.SetValue(identityKey{}, id) }
