package api

import (
	"crypto/rand"
	"math/big"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// Activation passwords: set by the admin (at least this long) or generated.
const (
	minActivationPassword  = 8
	defaultActivationTTL   = 48 * time.Hour
	maxActivationTTL       = 30 * 24 * time.Hour
	activationAlphabet     = "abcdefghjkmnpqrstuvwxyz23456789" // no 0/o, 1/l/i: read aloud without doubt
	activationGroups       = 3
	activationGroupLetters = 4
)

// DerivePRS turns an activation password into the password-related string
// the key exchange uses, with its salt and KDF parameters; only that is kept.
type DerivePRS func(password string) (prs, salt []byte, params string, err error)

// generateActivationPassword makes "k7m2-9xqp-4hrw": 12 characters from 31,
// about 59 bits, far beyond what five attempts can guess.
func generateActivationPassword() (string, error) {
	var b strings.Builder
	for g := range activationGroups {
		if g > 0 {
			b.WriteByte('-')
		}
		for range activationGroupLetters {
			k, err := rand.Int(rand.Reader, big.NewInt(int64(len(activationAlphabet))))
			if err != nil {
				return "", err
			}
			b.WriteByte(activationAlphabet[k.Int64()])
		}
	}
	return b.String(), nil
}

type activationPasswordRequest struct {
	Password  *string `json:"password"`
	ExpiresIn *string `json:"expires_in"`
}

type activationPasswordResponse struct {
	Password  string    `json:"password"`
	ExpiresAt time.Time `json:"expires_at"`
}

// postActivationPassword sets a user's one-time activation password and
// shows it this once; a new one replaces the old.
func (a *API) postActivationPassword(c echo.Context) error {
	ctx := c.Request().Context()
	var req activationPasswordRequest
	if c.Request().ContentLength != 0 {
		if err := decode(c, &req); err != nil {
			return err
		}
	}
	ttl := defaultActivationTTL
	if req.ExpiresIn != nil {
		d, err := time.ParseDuration(*req.ExpiresIn)
		if err != nil || d < time.Second || d > maxActivationTTL {
			return portal.Invalid("expires_in", "must be a duration from 1s to %s, such as \"48h\"", maxActivationTTL)
		}
		ttl = d
	}
	var password string
	if req.Password != nil {
		password = *req.Password
		if utf8.RuneCountInString(password) < minActivationPassword || len(password) > 256 {
			return portal.Invalid("password", "must be %d to 256 characters", minActivationPassword)
		}
	} else {
		var err error
		if password, err = generateActivationPassword(); err != nil {
			return err
		}
	}
	if _, err := a.store.User(ctx, c.Param("id")); err != nil {
		return err
	}
	prs, salt, params, err := a.derivePRS(password)
	if err != nil {
		return err
	}
	p := portal.ActivationPassword{UserID: c.Param("id"), PRS: prs, Salt: salt, KDFParams: params, ExpiresAt: time.Now().Add(ttl)}
	if err := a.store.SetActivationPassword(ctx, &p); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, activationPasswordResponse{Password: password, ExpiresAt: p.ExpiresAt})
}

type activationPasswordView struct {
	portal.ActivationPassword
	State string `json:"state"`
}

func (a *API) getActivationPassword(c echo.Context) error {
	p, err := a.store.ActivationPassword(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, activationPasswordView{*p, p.State(time.Now())})
}

func (a *API) deleteActivationPassword(c echo.Context) error {
	if err := a.store.ClearActivationPassword(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (a *API) getDeviceTimeline(c echo.Context) error {
	ctx := c.Request().Context()
	d, err := a.store.Device(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	events, err := a.store.DeviceEvents(ctx, d.ID)
	if err != nil {
		return err
	}
	out := map[string]any{"device_id": d.ID, "status": d.Status, "progress": d.Progress, "items": events}
	if d.Error != nil {
		if t, ok := portal.Troubleshoot(d.Error.Code); ok {
			out["troubleshooting"] = t
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (a *API) listTroubleshooting(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"items": portal.TroubleshootingCatalogue})
}
