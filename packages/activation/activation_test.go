package activation_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"

	"provportal/packages/activation"
)

// Cheap argon2id parameters so that the tests run fast; BenchmarkPRS
// measures the defaults.
var testParams = activation.Argon2Params{Memory: 256, Time: 1, Threads: 1}

// party is one side's inputs to a run.
type party struct {
	password string
	ci, sid  []byte
	ad       []byte
}

// end is one side's result of a run.
type end struct {
	keys    *activation.Keys
	channel *activation.Channel
}

// run is one activation from the portal's stored PRS to both channels, the
// way the portal and the bootloader use the package. It stops at the first
// failed confirmation and says which side refused.
func run(t *testing.T, device, portal party) (dev, ptl end, err error) {
	t.Helper()
	// The portal created the password: it keeps the PRS, salt and params.
	salt := activation.NewSalt()
	portalPRS := activation.PRS(portal.password, salt, testParams)

	// Device: derive the PRS from salt and params it was handed, then start.
	devicePRS := activation.PRS(device.password, salt, testParams)
	p, ya, err := activation.Start(devicePRS, device.ci, device.sid, device.ad)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}

	// Portal: answer with Yb, ADb and Tb.
	yb, iskB, err := activation.Respond(portalPRS, portal.ci, portal.sid, portal.ad, ya, device.ad)
	if err != nil {
		t.Fatalf("Respond: %v", err)
	}
	ptl.keys, err = activation.DeriveKeys(iskB, portal.sid, activation.Transcript(ya, device.ad, yb, portal.ad))
	if err != nil {
		t.Fatalf("portal DeriveKeys: %v", err)
	}
	tb := ptl.keys.ConfirmResponder()

	// Device: finish, check Tb before revealing Ta.
	iskA, err := p.Finish(yb, portal.ad)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	dev.keys, err = activation.DeriveKeys(iskA, device.sid, activation.Transcript(ya, device.ad, yb, portal.ad))
	if err != nil {
		t.Fatalf("device DeriveKeys: %v", err)
	}
	if !dev.keys.VerifyResponder(tb) {
		return dev, ptl, errors.New("device refused the portal's confirmation")
	}
	dev.channel, err = activation.NewChannel(dev.keys, activation.Initiator)
	if err != nil {
		t.Fatalf("device NewChannel: %v", err)
	}
	ta := dev.keys.ConfirmInitiator()

	// Portal: check Ta.
	if !ptl.keys.VerifyInitiator(ta) {
		return dev, ptl, errors.New("portal refused the device's confirmation")
	}
	ptl.channel, err = activation.NewChannel(ptl.keys, activation.Responder)
	if err != nil {
		t.Fatalf("portal NewChannel: %v", err)
	}
	return dev, ptl, nil
}

func newParty(password string) party {
	return party{
		password: password,
		ci:       []byte("\x0bdevice-1234\x0dportal.test"),
		sid:      []byte("0123456789abcdef"),
		ad:       []byte("bootloader 1.4"),
	}
}

func TestActivationRoundTrip(t *testing.T) {
	device, portal := newParty("correct horse"), newParty("correct horse")
	portal.ad = []byte("portal 2.0")
	dev, ptl, err := run(t, device, portal)
	if err != nil {
		t.Fatal(err)
	}

	aad := []byte("POST /activation/device-1234")
	for i, msg := range []string{"hello portal", "", "service books please"} {
		e := dev.channel.Seal([]byte(msg), aad)
		if e.Seq != uint64(i) {
			t.Fatalf("device message %d: seq = %d", i, e.Seq)
		}
		got, err := ptl.channel.Open(e, aad)
		if err != nil {
			t.Fatalf("portal Open %d: %v", i, err)
		}
		if string(got) != msg {
			t.Fatalf("portal Open %d: got %q, want %q", i, got, msg)
		}
	}
	for i, msg := range []string{"here is your manifest", strings.Repeat("x", 1<<16)} {
		e := ptl.channel.Seal([]byte(msg), nil)
		if e.Seq != uint64(i) {
			t.Fatalf("portal message %d: seq = %d", i, e.Seq)
		}
		got, err := dev.channel.Open(e, nil)
		if err != nil {
			t.Fatalf("device Open %d: %v", i, err)
		}
		if string(got) != msg {
			t.Fatalf("device Open %d: got %d bytes, want %d", i, len(got), len(msg))
		}
	}
}

func TestActivationMismatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(p *party)
	}{
		{"wrong_password", func(p *party) { p.password = "correct hors" }},
		{"other_channel_identifier", func(p *party) { p.ci = []byte("\x0bdevice-9999\x0dportal.test") }},
		{"other_session_id", func(p *party) { p.sid = []byte("fedcba9876543210") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			device, portal := newParty("correct horse"), newParty("correct horse")
			tc.change(&device)
			dev, ptl, err := run(t, device, portal)
			if err == nil || !strings.Contains(err.Error(), "device refused") {
				t.Fatalf("run: err = %v, want the device to refuse", err)
			}
			// The portal refuses too, had the device sent its tag anyway.
			if ptl.keys.VerifyInitiator(dev.keys.ConfirmInitiator()) {
				t.Fatal("portal accepted the device's confirmation")
			}
			for _, side := range []struct {
				keys *activation.Keys
				role activation.Role
			}{{dev.keys, activation.Initiator}, {ptl.keys, activation.Responder}} {
				if _, err := activation.NewChannel(side.keys, side.role); !errors.Is(err, activation.ErrUnconfirmed) {
					t.Errorf("%s NewChannel: err = %v, want ErrUnconfirmed", side.role, err)
				}
			}
		})
	}
}

func TestWrongPasswordISKsDiffer(t *testing.T) {
	salt := activation.NewSalt()
	ci, sid := []byte("ci"), []byte("sid")
	p, ya, err := activation.Start(activation.PRS("right", salt, testParams), ci, sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	yb, iskB, err := activation.Respond(activation.PRS("wrong", salt, testParams), ci, sid, nil, ya, nil)
	if err != nil {
		t.Fatal(err)
	}
	iskA, err := p.Finish(yb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(iskA, iskB) {
		t.Fatal("ISKs agree although the passwords differ")
	}
	if len(iskA) != activation.ISKSize || len(iskB) != activation.ISKSize {
		t.Fatalf("ISK sizes %d and %d, want %d", len(iskA), len(iskB), activation.ISKSize)
	}
}

func TestAssociatedDataIsAuthenticated(t *testing.T) {
	prs, ci, sid := []byte("prs"), []byte("ci"), []byte("sid")
	p, ya, err := activation.Start(prs, ci, sid, []byte("device-1234"))
	if err != nil {
		t.Fatal(err)
	}
	// An attacker rewrites ADa on its way to the portal.
	yb, iskB, err := activation.Respond(prs, ci, sid, []byte("portal"), ya, []byte("device-6666"))
	if err != nil {
		t.Fatal(err)
	}
	iskA, err := p.Finish(yb, []byte("portal"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(iskA, iskB) {
		t.Fatal("ISKs agree although ADa was altered")
	}
}

func TestFinishTwice(t *testing.T) {
	prs, ci, sid := []byte("prs"), []byte("ci"), []byte("sid")
	p, ya, err := activation.Start(prs, ci, sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	yb, _, err := activation.Respond(prs, ci, sid, nil, ya, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Finish(yb, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Finish(yb, nil); !errors.Is(err, activation.ErrFinished) {
		t.Fatalf("second Finish: err = %v, want ErrFinished", err)
	}
}

func TestSharesAreFresh(t *testing.T) {
	_, a, err := activation.Start([]byte("prs"), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := activation.Start([]byte("prs"), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != activation.ShareSize {
		t.Fatalf("share is %d bytes, want %d", len(a), activation.ShareSize)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two runs sent the same share")
	}
}

func TestDeriveKeysRejects(t *testing.T) {
	isk := make([]byte, activation.ISKSize)
	ya, yb := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	good := activation.Transcript(ya, []byte("a"), yb, []byte("b"))
	if _, err := activation.DeriveKeys(isk, nil, good); err != nil {
		t.Fatalf("well-formed inputs: %v", err)
	}
	for _, tc := range []struct {
		name            string
		isk, transcript []byte
	}{
		{"short_isk", isk[:32], good},
		{"truncated_transcript", isk, good[:len(good)-1]},
		{"trailing_bytes", isk, append(append([]byte(nil), good...), 0)},
		{"short_share", isk, activation.Transcript(ya[:31], nil, yb, nil)},
		{"equal_shares", isk, activation.Transcript(ya, []byte("a"), ya, []byte("a"))},
		{"empty", isk, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := activation.DeriveKeys(tc.isk, nil, tc.transcript); err == nil {
				t.Fatal("DeriveKeys accepted it")
			}
		})
	}
}

func TestConfirmationTags(t *testing.T) {
	dev, ptl, err := run(t, newParty("pw"), newParty("pw"))
	if err != nil {
		t.Fatal(err)
	}
	ta, tb := dev.keys.ConfirmInitiator(), ptl.keys.ConfirmResponder()
	if len(ta) != 64 || len(tb) != 64 {
		t.Fatalf("tag sizes %d and %d, want 64 (HMAC-SHA512)", len(ta), len(tb))
	}
	if bytes.Equal(ta, tb) {
		t.Fatal("both directions have the same tag")
	}
	// A tag is not accepted for the other direction, nor truncated.
	if ptl.keys.VerifyInitiator(tb) || dev.keys.VerifyResponder(ta) {
		t.Fatal("a tag was accepted for the other direction")
	}
	if ptl.keys.VerifyInitiator(ta[:32]) {
		t.Fatal("a truncated tag was accepted")
	}
	for _, s := range []string{dev.keys.String(), ptl.channel.String()} {
		if strings.Contains(s, "[") {
			t.Errorf("String() looks like it prints bytes: %s", s)
		}
	}
}

func TestChannelRefuses(t *testing.T) {
	dev, ptl, err := run(t, newParty("pw"), newParty("pw"))
	if err != nil {
		t.Fatal(err)
	}
	aad := []byte("aad")
	m0 := dev.channel.Seal([]byte("zero"), aad)
	m1 := dev.channel.Seal([]byte("one"), aad)
	m2 := dev.channel.Seal([]byte("two"), aad)

	open := func(e activation.Envelope, aad []byte, want error) {
		t.Helper()
		got, err := ptl.channel.Open(e, aad)
		if !errors.Is(err, want) {
			t.Fatalf("Open(seq %d): got %q, err = %v, want %v", e.Seq, got, err, want)
		}
	}
	flip := func(e activation.Envelope, i int) activation.Envelope {
		ct := append([]byte(nil), e.CT...)
		ct[i] ^= 1
		return activation.Envelope{Seq: e.Seq, CT: ct}
	}

	open(m1, aad, activation.ErrOutOfOrder) // reordered: 1 before 0
	open(m2, aad, activation.ErrOutOfOrder) // skipped
	open(flip(m0, 0), aad, activation.ErrTampered)
	open(flip(m0, len(m0.CT)-1), aad, activation.ErrTampered)                 // the GCM tag
	open(activation.Envelope{Seq: 0, CT: m1.CT}, aad, activation.ErrTampered) // seq rewritten
	open(activation.Envelope{Seq: 0, CT: m0.CT[:10]}, aad, activation.ErrTampered)
	open(m0, []byte("other aad"), activation.ErrTampered)
	open(dev.channel.Seal(nil, nil), nil, activation.ErrOutOfOrder) // seq 3

	// The refusals left the channel expecting 0: the real sequence opens.
	open(m0, aad, nil)
	open(m0, aad, activation.ErrReplay)
	open(m1, aad, nil)
	open(m0, aad, activation.ErrReplay)
	open(m1, aad, activation.ErrReplay)
	open(m2, aad, nil)

	// A device's own message reflected back to it does not open.
	e := dev.channel.Seal([]byte("four"), nil)
	if _, err := dev.channel.Open(activation.Envelope{Seq: 0, CT: e.CT}, nil); !errors.Is(err, activation.ErrTampered) {
		t.Fatalf("device opened its own message: err = %v", err)
	}
}

func TestChannelStateRestore(t *testing.T) {
	dev, ptl, err := run(t, newParty("pw"), newParty("pw"))
	if err != nil {
		t.Fatal(err)
	}
	// portal state between HTTP requests: save, drop, restore.
	roundTrip := func(c *activation.Channel) *activation.Channel {
		t.Helper()
		state, err := c.MarshalState()
		if err != nil {
			t.Fatalf("MarshalState: %v", err)
		}
		r, err := activation.RestoreChannel(state)
		if err != nil {
			t.Fatalf("RestoreChannel: %v", err)
		}
		if r.Role() != c.Role() {
			t.Fatalf("restored role %s, want %s", r.Role(), c.Role())
		}
		return r
	}

	for i := range 3 {
		ptl.channel = roundTrip(ptl.channel)
		e := dev.channel.Seal(fmt.Appendf(nil, "request %d", i), nil)
		if _, err := ptl.channel.Open(e, nil); err != nil {
			t.Fatalf("portal Open after restore %d: %v", i, err)
		}
		ptl.channel = roundTrip(ptl.channel)
		r := ptl.channel.Seal(fmt.Appendf(nil, "response %d", i), nil)
		if r.Seq != uint64(i) {
			t.Fatalf("portal seq after restore = %d, want %d", r.Seq, i)
		}
		dev.channel = roundTrip(dev.channel)
		if _, err := dev.channel.Open(r, nil); err != nil {
			t.Fatalf("device Open %d: %v", i, err)
		}
	}

	// A restored channel still refuses what was already received.
	old := ptl.channel
	e := dev.channel.Seal([]byte("once"), nil)
	if _, err := old.Open(e, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := roundTrip(old).Open(e, nil); !errors.Is(err, activation.ErrReplay) {
		t.Fatalf("restored channel: err = %v, want ErrReplay", err)
	}

	good, err := ptl.channel.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	var state map[string]any
	if err := json.Unmarshal(good, &state); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(map[string]any)
	}{
		{"version", func(s map[string]any) { s["v"] = 2 }},
		{"role", func(s map[string]any) { s["role"] = "observer" }},
		{"short_key", func(s map[string]any) { s["send"].(map[string]any)["key"] = "AAAA" }},
		{"no_iv", func(s map[string]any) { delete(s["recv"].(map[string]any), "iv") }},
		{"exhausted", func(s map[string]any) { s["send"].(map[string]any)["seq"] = uint64(1<<64 - 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s map[string]any
			if err := json.Unmarshal(good, &s); err != nil {
				t.Fatal(err)
			}
			tc.change(s)
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := activation.RestoreChannel(b); err == nil {
				t.Fatalf("RestoreChannel accepted %s", b)
			}
		})
	}
	if _, err := activation.RestoreChannel([]byte("not json")); err == nil {
		t.Fatal("RestoreChannel accepted garbage")
	}
}

func TestEnvelopeJSON(t *testing.T) {
	e := activation.Envelope{Seq: 7, CT: []byte{0xfb, 0xff}}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"seq":7,"ct":"+/8="}`; got != want {
		t.Fatalf("JSON: got %s, want %s", got, want)
	}
	var back activation.Envelope
	if err := json.Unmarshal(b, &back); err != nil || back.Seq != 7 || !bytes.Equal(back.CT, e.CT) {
		t.Fatalf("Unmarshal: %+v, %v", back, err)
	}
}

func TestChannelConcurrentSeal(t *testing.T) {
	dev, ptl, err := run(t, newParty("pw"), newParty("pw"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	envs := make([]activation.Envelope, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			e := dev.channel.Seal([]byte("m"), nil)
			envs[e.Seq] = e
		})
	}
	wg.Wait()
	for _, e := range envs {
		if _, err := ptl.channel.Open(e, nil); err != nil {
			t.Fatalf("Open(seq %d): %v", e.Seq, err)
		}
	}
}

func TestPRS(t *testing.T) {
	salt := activation.NewSalt()
	a := activation.PRS("hunter2", salt, testParams)
	if len(a) != activation.PRSSize {
		t.Fatalf("PRS is %d bytes, want %d", len(a), activation.PRSSize)
	}
	if !bytes.Equal(a, activation.PRS("hunter2", salt, testParams)) {
		t.Fatal("PRS is not deterministic")
	}
	for name, other := range map[string][]byte{
		"other_password": activation.PRS("hunter3", salt, testParams),
		"other_salt":     activation.PRS("hunter2", activation.NewSalt(), testParams),
		"other_params":   activation.PRS("hunter2", salt, activation.Argon2Params{Memory: 512, Time: 1, Threads: 1}),
	} {
		if bytes.Equal(a, other) {
			t.Errorf("%s: same PRS", name)
		}
	}
}

// PRS is argon2id itself, with the parameters in the order x/crypto takes
// them (a swapped Time and Memory would still "work").
func TestPRSIsArgon2id(t *testing.T) {
	p := activation.Argon2Params{Memory: 64, Time: 2, Threads: 2}
	salt := []byte("somesaltsomesalt")
	got := activation.PRS("password", salt, p)
	want := argon2.IDKey([]byte("password"), salt, 2, 64, 2, activation.PRSSize)
	if !bytes.Equal(got, want) {
		t.Fatalf("PRS = %x, want %x", got, want)
	}
}

func TestArgon2Params(t *testing.T) {
	d := activation.DefaultArgon2Params()
	if d != (activation.Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 1}) {
		t.Fatalf("defaults %+v, want 64 MiB, 3 passes, 1 lane", d)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		p    activation.Argon2Params
	}{
		{"zero", activation.Argon2Params{}},
		{"no_time", activation.Argon2Params{Memory: 1024, Threads: 1}},
		{"no_threads", activation.Argon2Params{Memory: 1024, Time: 1}},
		{"too_little_memory", activation.Argon2Params{Memory: 15, Time: 1, Threads: 2}},
		{"too_much_memory", activation.Argon2Params{Memory: activation.MaxArgon2Memory + 1, Time: 1, Threads: 1}},
		{"too_many_passes", activation.Argon2Params{Memory: 1024, Time: activation.MaxArgon2Time + 1, Threads: 1}},
		{"too_many_threads", activation.Argon2Params{Memory: 1 << 16, Time: 1, Threads: activation.MaxArgon2Threads + 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(); err == nil {
				t.Fatal("Validate accepted it")
			}
			defer func() {
				if recover() == nil {
					t.Fatal("PRS did not panic")
				}
			}()
			activation.PRS("pw", []byte("salt"), tc.p)
		})
	}
	var p activation.Argon2Params
	if err := json.Unmarshal([]byte(`{"memory_kib":65536,"time":3,"threads":1}`), &p); err != nil || p != d {
		t.Fatalf("JSON: %+v, %v", p, err)
	}
}

func TestNewSalt(t *testing.T) {
	a, b := activation.NewSalt(), activation.NewSalt()
	if len(a) != activation.SaltSize {
		t.Fatalf("salt is %d bytes, want %d", len(a), activation.SaltSize)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two salts are equal")
	}
}

// BenchmarkCPaceFull is one whole CPace exchange: Start, Respond, Finish.
func BenchmarkCPaceFull(b *testing.B) {
	prs, ci, sid := make([]byte, activation.PRSSize), []byte("ci"), make([]byte, 16)
	rand.Read(prs)
	rand.Read(sid)
	for b.Loop() {
		p, ya, err := activation.Start(prs, ci, sid, []byte("ADa"))
		if err != nil {
			b.Fatal(err)
		}
		yb, _, err := activation.Respond(prs, ci, sid, []byte("ADb"), ya, []byte("ADa"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Finish(yb, []byte("ADb")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPRS is argon2id with the default parameters (64 MiB, 3, 1).
func BenchmarkPRS(b *testing.B) {
	salt := activation.NewSalt()
	p := activation.DefaultArgon2Params()
	for b.Loop() {
		activation.PRS("correct horse battery staple", salt, p)
	}
}

func TestEmptyPRSRefused(t *testing.T) {
	if _, _, err := activation.Start(nil, nil, nil, nil); err == nil {
		t.Error("Start accepted an empty PRS")
	}
	_, ya, err := activation.Start([]byte("prs"), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := activation.Respond(nil, nil, nil, nil, ya, nil); err == nil {
		t.Error("Respond accepted an empty PRS")
	}
}
