package activation

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/gtank/ristretto255"
)

// The published test vectors of draft-irtf-cfrg-cpace-21 (April 2026),
// copied from the draft text in github.com/cfrg/draft-irtf-cfrg-cpace at tag
// draft-irtf-cfrg-cpace-21 (commit 8fb4056e1b92), appendix "Test vectors",
// section "Test vector for CPace using group ristretto255 and hash
// SHA-512"; they equal the "G_Coffee25519" entry of the repository's
// testvectors.json. Drafts before -19 published different values.
const (
	tvPRS = "50617373776f7264" // b'Password'
	tvCI  = "0b415f696e69746961746f720b425f726573706f6e646572"
	tvSID = "7e4b4791d6a8ef019b936c79fb7f2c57"

	// "Test vectors for calculate_generator with group ristretto255"
	tvGeneratorString = "11435061636552697374726574746f3235350850617373776f726464" +
		"00000000000000000000000000000000000000000000000000000000" +
		"00000000000000000000000000000000000000000000000000000000" +
		"00000000000000000000000000000000000000000000000000000000" +
		"00000000000000000000000000000000180b415f696e69746961746f" +
		"720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f" +
		"2c57"
	tvGeneratorHash = "da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288" +
		"b6663af06bf645c93cd1c51512307199c80e84908916d983b34af772" +
		"05f90851a657ee27"
	tvG = "222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5" +
		"698c7e56"

	// "Test vector for message from A"
	tvADa = "414461" // b'ADa'
	// ya, little endian
	tvYa = "da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4f" +
		"f0976d08"
	tvYaShare = "d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec" +
		"482b9157"

	// "Test vector for message from B"
	tvADb = "414462" // b'ADb'
	// yb, little endian
	tvYb = "d2316b454718c35362d83d69df6320f38578ed5984651435e2949762" +
		"d900b80d"
	tvYbShare = "3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7" +
		"433f7258"

	// "Test vector for secret points K"
	tvK = "80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc98" +
		"87c8b40f"

	// "Test vector for ISK calculation initiator/responder"
	tvTranscriptIR = "20d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0e" +
		"ec482b915703414461203ea7e0b19560d7c0b0f5734f63b955286dfa" +
		"8232b5ebe63324e2d9e7433f725803414462"
	tvDSIISK  = "435061636552697374726574746f3235355f49534b"
	tvISKInIR = "15435061636552697374726574746f3235355f49534b107e4b4791d6" +
		"a8ef019b936c79fb7f2c572080b69a8a76457ab6a4d7f887a4bf6b55" +
		"a2f80ac19c333f917a05fc9887c8b40f20d6bac480f2c386c394efc7" +
		"c47adb9925dcd2630b64f240c50f8d0eec482b915703414461203ea7" +
		"e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f" +
		"725803414462"
	tvISKIR = "b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dc" +
		"ae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c" +
		"3fa2068af7900447"

	// "Test vector for ISK calculation parallel execution"
	tvTranscriptOC = "6f6320d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f" +
		"8d0eec482b915703414461203ea7e0b19560d7c0b0f5734f63b95528" +
		"6dfa8232b5ebe63324e2d9e7433f725803414462"
	tvISKInSY = "15435061636552697374726574746f3235355f49534b107e4b4791d6" +
		"a8ef019b936c79fb7f2c572080b69a8a76457ab6a4d7f887a4bf6b55" +
		"a2f80ac19c333f917a05fc9887c8b40f6f6320d6bac480f2c386c394" +
		"efc7c47adb9925dcd2630b64f240c50f8d0eec482b91570341446120" +
		"3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7" +
		"433f725803414462"
	tvISKSY = "544199d71f62f8d9a1fee55727e24fe4a45844593c2b6013c4fa3969" +
		"d0e5debb2244675c0b43397cbb68d342b01fc0f98fc961469a25134d" +
		"e9f0f813c1a57476"

	// "Test vector for optional output of session id"
	tvSIDOutputIR = "bb1c449b35f0ea79a65c209f329a693d475e0ce2387bed9fe4b78f60" +
		"b2a27c219813fb2cfe175ef40d2222d9261e66da7d78f7c55a303b1b" +
		"8611dcdfab880c47"
	tvSIDOutputOC = "10d5941d4933497fe31b9188d690b84465e2a2d158332a7267284a07" +
		"1a8d0876fc5c8c329dc735d59a9f8ef6623ee23924704a2f929dd631" +
		"ca981227ee82fff2"

	// "Test case for scalar_mult with valid inputs"
	tvValidS = "7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88" +
		"cf538a05"
	tvValidX = "2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d6" +
		"54b4a51c"
	tvValidSX = "7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e" +
		"7f6b600e"

	// "Invalid inputs for scalar_mult_vfy": Y_i1 does not decode, Y_i2 is G.I.
	tvInvalidY1 = "2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d6" +
		"54b4a51c"
	tvInvalidY2 = "00000000000000000000000000000000000000000000000000000000" +
		"00000000"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex constant %q: %v", s, err)
	}
	return b
}

func scalar(t testing.TB, s string) *ristretto255.Scalar {
	t.Helper()
	y := ristretto255.NewScalar()
	if err := y.Decode(unhex(t, s)); err != nil {
		t.Fatalf("scalar %s: %v", s, err)
	}
	return y
}

func checkHex(t *testing.T, name string, got []byte, want string) {
	t.Helper()
	if w := unhex(t, want); !bytes.Equal(got, w) {
		t.Errorf("%s:\n got %x\nwant %x", name, got, w)
	}
}

// oCat, transcriptOC and sidOutput exist only to reproduce the vectors of
// the symmetric setting and of the optional session id, which the package
// does not offer (activation always has an initiator and a responder).
func oCat(a, b []byte) []byte {
	if bytes.Compare(a, b) > 0 {
		return append(append([]byte("oc"), a...), b...)
	}
	return append(append([]byte("oc"), b...), a...)
}

func transcriptOC(ya, ada, yb, adb []byte) []byte {
	return oCat(lvCat(ya, ada), lvCat(yb, adb))
}

func sidOutput(transcript []byte) []byte {
	h := sha512.Sum512(append([]byte("CPaceSidOutput"), transcript...))
	return h[:]
}

// Appendix "Definition and test vectors for string utility functions" and
// "Definitions and test vector ordered concatenation".
func TestStringUtilityVectors(t *testing.T) {
	r127, r128 := make([]byte, 127), make([]byte, 128)
	for i := range r128 {
		r128[i] = byte(i)
	}
	copy(r127, r128)
	checkHex(t, `prepend_len(b"")`, prependLen(nil), "00")
	checkHex(t, `prepend_len(b"1234")`, prependLen([]byte("1234")), "0431323334")
	checkHex(t, "prepend_len(bytes(range(127)))", prependLen(r127), "7f"+hex.EncodeToString(r127))
	checkHex(t, "prepend_len(bytes(range(128)))", prependLen(r128), "8001"+hex.EncodeToString(r128))
	checkHex(t, "lv_cat", lvCat([]byte("1234"), []byte("5"), nil, []byte("678")), "043132333401350003363738")
	checkHex(t, "o_cat(ABCD,BCD)", oCat([]byte("ABCD"), []byte("BCD")), "6f6342434441424344")
	checkHex(t, "o_cat(BCD,ABCDE)", oCat([]byte("BCD"), []byte("ABCDE")), "6f634243444142434445")
	checkHex(t, "transcript_ir 1", Transcript([]byte("123"), []byte("PartyA"), []byte("234"), []byte("PartyB")),
		"03313233065061727479410332333406506172747942")
	checkHex(t, "transcript_ir 2", Transcript([]byte("3456"), []byte("PartyA"), []byte("2345"), []byte("PartyB")),
		"043334353606506172747941043233343506506172747942")
	checkHex(t, "transcript_oc 1", transcriptOC([]byte("123"), []byte("PartyA"), []byte("234"), []byte("PartyB")),
		"6f6303323334065061727479420331323306506172747941")
	checkHex(t, "transcript_oc 2", transcriptOC([]byte("3456"), []byte("PartyA"), []byte("2345"), []byte("PartyB")),
		"6f63043334353606506172747941043233343506506172747942")
}

func TestRistretto255Vectors(t *testing.T) {
	prs, ci, sid := unhex(t, tvPRS), unhex(t, tvCI), unhex(t, tvSID)
	ada, adb := unhex(t, tvADa), unhex(t, tvADb)

	t.Run("calculate_generator", func(t *testing.T) {
		gs := generatorString([]byte(dsi), prs, ci, sid, sha512BlockSize)
		checkHex(t, "generator_string", gs, tvGeneratorString)
		h := sha512.Sum512(gs)
		checkHex(t, "hash result", h[:], tvGeneratorHash)
		checkHex(t, "encoded generator g", calculateGenerator(prs, ci, sid).Encode(nil), tvG)
	})

	t.Run("messages_and_K", func(t *testing.T) {
		ya, yb := scalar(t, tvYa), scalar(t, tvYb)
		g := calculateGenerator(prs, ci, sid)
		checkHex(t, "Ya", scalarMult(ya, g), tvYaShare)
		checkHex(t, "Yb", scalarMult(yb, g), tvYbShare)
		checkHex(t, "scalar_mult_vfy(ya,Yb)", scalarMultVfy(ya, unhex(t, tvYbShare)), tvK)
		checkHex(t, "scalar_mult_vfy(yb,Ya)", scalarMultVfy(yb, unhex(t, tvYaShare)), tvK)
	})

	t.Run("ISK_initiator_responder", func(t *testing.T) {
		ya, yb, k := unhex(t, tvYaShare), unhex(t, tvYbShare), unhex(t, tvK)
		tr := Transcript(ya, ada, yb, adb)
		checkHex(t, "transcript_ir", tr, tvTranscriptIR)
		checkHex(t, "G.DSI_ISK", []byte(dsi+"_ISK"), tvDSIISK)
		checkHex(t, "lv_cat(DSI,sid,K)||transcript_ir", append(lvCat([]byte(dsi+"_ISK"), sid, k), tr...), tvISKInIR)
		checkHex(t, "ISK_IR", deriveISK(sid, k, tr), tvISKIR)
	})

	t.Run("ISK_parallel", func(t *testing.T) {
		ya, yb, k := unhex(t, tvYaShare), unhex(t, tvYbShare), unhex(t, tvK)
		tr := transcriptOC(ya, ada, yb, adb)
		checkHex(t, "transcript_oc", tr, tvTranscriptOC)
		checkHex(t, "lv_cat(DSI,sid,K)||transcript_oc", append(lvCat([]byte(dsi+"_ISK"), sid, k), tr...), tvISKInSY)
		checkHex(t, "ISK_SY", deriveISK(sid, k, tr), tvISKSY)
	})

	t.Run("sid_output", func(t *testing.T) {
		ya, yb := unhex(t, tvYaShare), unhex(t, tvYbShare)
		checkHex(t, "sid_output_ir", sidOutput(Transcript(ya, ada, yb, adb)), tvSIDOutputIR)
		checkHex(t, "sid_output_oc", sidOutput(transcriptOC(ya, ada, yb, adb)), tvSIDOutputOC)
	})

	// The whole run through the exported flow, with the draft's scalars.
	t.Run("protocol_run", func(t *testing.T) {
		p := start(prs, ci, sid, ada, scalar(t, tvYa))
		checkHex(t, "Start share", p.Share(), tvYaShare)
		share, iskB, err := respond(prs, ci, sid, adb, p.Share(), ada, scalar(t, tvYb))
		if err != nil {
			t.Fatalf("respond: %v", err)
		}
		checkHex(t, "Respond share", share, tvYbShare)
		checkHex(t, "Respond ISK", iskB, tvISKIR)
		iskA, err := p.Finish(share, adb)
		if err != nil {
			t.Fatalf("Finish: %v", err)
		}
		checkHex(t, "Finish ISK", iskA, tvISKIR)
	})

	t.Run("scalar_mult_valid", func(t *testing.T) {
		s, x := scalar(t, tvValidS), unhex(t, tvValidX)
		e := ristretto255.NewElement()
		if err := e.Decode(x); err != nil {
			t.Fatalf("decode X: %v", err)
		}
		checkHex(t, "G.scalar_mult(s,decode(X))", scalarMult(s, e), tvValidSX)
		checkHex(t, "G.scalar_mult_vfy(s,X)", scalarMultVfy(s, x), tvValidSX)
	})

	t.Run("scalar_mult_vfy_invalid", func(t *testing.T) {
		s := scalar(t, tvValidS)
		for _, tc := range []struct{ name, y string }{
			{"Y_i1_not_an_encoding", tvInvalidY1},
			{"Y_i2_identity", tvInvalidY2},
		} {
			t.Run(tc.name, func(t *testing.T) {
				checkHex(t, "G.scalar_mult_vfy(s,Y)", scalarMultVfy(s, unhex(t, tc.y)), strings.Repeat("00", 32))
			})
		}
	})
}

// The draft's "Implementation verification": a run MUST abort when an
// invalid point or the identity arrives in either party's message.
func TestInvalidSharesAbort(t *testing.T) {
	prs, ci, sid := unhex(t, tvPRS), unhex(t, tvCI), unhex(t, tvSID)
	for _, tc := range []struct{ name, share string }{
		{"Y_i1_not_an_encoding", tvInvalidY1},
		{"Y_i2_identity", tvInvalidY2},
		{"short", tvYaShare[:62]},
		{"long", tvYaShare + "00"},
		{"empty", ""},
	} {
		bad := unhex(t, tc.share)
		t.Run("responder_"+tc.name, func(t *testing.T) {
			share, k, err := Respond(prs, ci, sid, []byte("ADb"), bad, []byte("ADa"))
			if !errors.Is(err, ErrInvalidShare) {
				t.Fatalf("Respond: err = %v, want ErrInvalidShare", err)
			}
			if share != nil || k != nil {
				t.Fatalf("Respond returned share %x, ISK %x with its error", share, k)
			}
		})
		t.Run("initiator_"+tc.name, func(t *testing.T) {
			p, _, err := Start(prs, ci, sid, []byte("ADa"))
			if err != nil {
				t.Fatal(err)
			}
			if k, err := p.Finish(bad, []byte("ADb")); !errors.Is(err, ErrInvalidShare) || k != nil {
				t.Fatalf("Finish: ISK %x, err = %v, want ErrInvalidShare", k, err)
			}
		})
	}
	t.Run("initiator_own_share_reflected", func(t *testing.T) {
		p, share, err := Start(prs, ci, sid, []byte("ADa"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Finish(share, []byte("ADa")); !errors.Is(err, ErrInvalidShare) {
			t.Fatalf("Finish(own share): err = %v, want ErrInvalidShare", err)
		}
	})
}
