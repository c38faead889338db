package portal

import "context"

// Actor is who makes a change, for the audit log.
type Actor struct {
	ID         string
	Username   string
	Role       Role
	RemoteAddr string
}

type actorKey struct{}

// WithActor returns a context that carries the actor behind a request.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor carried by ctx; the zero Actor means the system itself.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}
