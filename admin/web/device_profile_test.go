package web

import (
	"context"
	"net/http"
	"testing"

	"provportal/portal"
)

func TestDevicePageSaysWhatTheProfileStatusMeans(t *testing.T) {
	env := newConsole(t)
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "test"})
	u := portal.User{Username: "ivy"}
	if err := env.Store.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	d := portal.Device{UserID: u.ID, Name: "iPhone15,2 F2LXK0ABCDEF", Platform: "ios", OSVersion: "17.4", Status: portal.StatusProfileDelivered}
	if err := env.Store.RegisterDevice(ctx, &d); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.signIn("root")
	b.get("/admin/devices?status=profile_delivered").want(t, http.StatusOK).
		wantText(t, `<option value="profile_delivered" selected>Profile delivered</option>`, "iPhone15,2 F2LXK0ABCDEF")
	b.get("/admin/devices/"+d.ID).want(t, http.StatusOK).
		wantText(t, "Profile delivered", "Settings profile delivered", "as far as the portal can see", "whether the user then installs the profile")
}
