package metalearn

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"
)

// smallModel trains a tiny model whose encoding stays small (a GP on at
// most 12 points), for codec and fuzz tests.
func smallModel(t testing.TB, kinds ...ModelKind) *Model {
	t.Helper()
	opts := append(fastOptions(), WithGPPoints(12, 12), WithFolds(3), WithKinds(kinds...))
	m, err := Train(context.Background(), synthHistory(30, 8), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// reseal recomputes the trailing checksum of an encoded model.
func reseal(b []byte) []byte {
	out := append([]byte(nil), b...)
	if len(out) >= 4 {
		binary.LittleEndian.PutUint32(out[len(out)-4:], crc32.Checksum(out[:len(out)-4], crcTable))
	}
	return out
}

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	for _, m := range []*Model{trainedModel(t), smallModel(t, KindRidgeQuadratic), smallModel(t, KindRidge)} {
		data, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeModel(data)
		if err != nil {
			t.Fatal(err)
		}
		again, err := got.MarshalBinary()
		if err != nil || !bytes.Equal(data, again) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
		for _, r := range synthHistory(20, 4) {
			a, _ := m.Predict(r.Features)
			b, _ := got.Predict(r.Features)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("decoded model predicts differently:\n%+v\n%+v", a, b)
			}
			ta, _ := m.BestTeamSize(r.Features, 8)
			tb, _ := got.BestTeamSize(r.Features, 8)
			if !reflect.DeepEqual(ta, tb) {
				t.Fatalf("decoded model's team what-if differs:\n%+v\n%+v", ta, tb)
			}
		}
		if !reflect.DeepEqual(got.Summary(), m.Summary()) || got.NProjects() != m.NProjects() || got.Seed() != m.Seed() {
			t.Fatal("metadata lost")
		}
	}
}

func TestCodecRefusesBadData(t *testing.T) {
	t.Parallel()
	data, err := smallModel(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), data...)
		f(b)
		return b
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrCorruptModel},
		{"bad magic", mutate(func(b []byte) { b[0] = 'X' }), ErrCorruptModel},
		{"future format", reseal(mutate(func(b []byte) { binary.LittleEndian.PutUint16(b[8:], FormatVersion+1) })), ErrUnsupportedVersion},
		{"old format", reseal(mutate(func(b []byte) { binary.LittleEndian.PutUint16(b[8:], 0) })), ErrUnsupportedVersion},
		{"other feature set", reseal(mutate(func(b []byte) { binary.LittleEndian.PutUint16(b[10:], FeatureSetVersion+1) })), ErrUnsupportedVersion},
		{"flipped byte", mutate(func(b []byte) { b[len(b)/2] ^= 0x40 }), ErrCorruptModel},
		{"truncated", data[:len(data)-9], ErrCorruptModel},
		{"trailing bytes", reseal(append(append([]byte(nil), data[:len(data)-4]...), 0, 0, 0, 0, 0)), ErrCorruptModel},
		{"NaN coverage", reseal(mutate(func(b []byte) { binary.LittleEndian.PutUint64(b[40:], 0x7ff8000000000001) })), ErrCorruptModel},
		{"zero training size", reseal(mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[28:], 0) })), ErrCorruptModel},
	}
	for _, c := range cases {
		if _, err := DecodeModel(c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Every prefix fails cleanly.
	for n := 0; n < len(data); n += 1 + n/8 {
		if _, err := DecodeModel(reseal(data[:n])); err == nil {
			t.Fatalf("prefix of %d bytes decoded", n)
		}
	}
}

func TestMarshalRejectsLongStrings(t *testing.T) {
	t.Parallel()
	hist := synthHistory(30, 8)
	long := string(bytes.Repeat([]byte("x"), maxStringLen+1))
	for i := range hist {
		hist[i].Features.Artifacts = []ArtifactUse{{ID: "a", Name: long, Impact: 50}}
		hist[i].Outcome.SuccessScore = 80
		if i%2 == 0 {
			hist[i].Features.Artifacts = nil
			hist[i].Outcome.SuccessScore = 40
		}
		hist[i].Features.ProblemClass = ClassNLP
	}
	m, err := Train(context.Background(), hist, append(fastOptions(), WithKinds(KindRidge), WithFolds(3))...)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.artifacts) != 1 {
		t.Fatalf("%d associations, want 1", len(m.artifacts))
	}
	if _, err := m.MarshalBinary(); err == nil {
		t.Fatal("a string beyond the format's limit was encoded")
	}
}

// FuzzDecodeModel feeds arbitrary bytes to the decoder, both as given and
// with the checksum recomputed so that mutations reach the parser. Decoding
// must never panic or hang, and whatever it accepts must re-encode and
// predict.
func FuzzDecodeModel(f *testing.F) {
	for _, kinds := range [][]ModelKind{{KindGP}, {KindRidge}, {KindRidgeQuadratic}, nil} {
		data, err := smallModel(f, kinds...).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Add([]byte("MAESTROM"))
	f.Add([]byte{})
	p := synthHistory(1, 1)[0].Features
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range [][]byte{data, reseal(data)} {
			m, err := DecodeModel(d)
			if err != nil {
				if !errors.Is(err, ErrCorruptModel) && !errors.Is(err, ErrUnsupportedVersion) {
					t.Fatalf("unexpected error class: %v", err)
				}
				continue
			}
			if _, err := m.MarshalBinary(); err != nil {
				t.Fatalf("accepted model does not re-encode: %v", err)
			}
			if _, err := m.Predict(p); err != nil {
				t.Fatalf("accepted model does not predict: %v", err)
			}
		}
	})
}

// TestMarshalRejectsOutOfRangeFields checks that the writer refuses every
// count or size that does not fit its field instead of writing a truncated
// value (finding F-5).
func TestMarshalRejectsOutOfRangeFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		kind   ModelKind
		mutate func(m *Model)
	}{
		{"feature-set version above uint16", KindRidge, func(m *Model) { m.featureSetVersion = 1 << 16 }},
		{"negative training size", KindRidge, func(m *Model) { m.nProjects = -1 }},
		{"training size above uint32", KindRidge, func(m *Model) { m.nProjects = 1 << 32 }},
		{"max team size above uint32", KindRidge, func(m *Model) { m.maxTeamSize = 1<<32 + 3 }},
		{"negative artifact count", KindRidge, func(m *Model) {
			m.artifacts = append(m.artifacts, artifactStat{class: "model", id: "a", withN: -1})
		}},
		{"artifact without-count above uint32", KindRidge, func(m *Model) {
			m.artifacts = append(m.artifacts, artifactStat{class: "model", id: "a", withoutN: 1 << 33})
		}},
		{"target above uint8", KindRidge, func(m *Model) { m.targets[0].target = 256 }},
		{"folds above uint16", KindRidge, func(m *Model) { m.targets[1].metrics.Folds = 1 << 16 }},
		{"negative folds", KindRidge, func(m *Model) { m.targets[2].metrics.Folds = -3 }},
		{"GP dimension above uint16", KindGP, func(m *Model) {
			for i := range m.targets {
				if g, ok := m.targets[i].fit.reg.(*gpModel); ok {
					g.d = 1 << 16
					return
				}
			}
			t.Fatal("no GP target")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := smallModel(t, c.kind)
			if _, err := m.MarshalBinary(); err != nil {
				t.Fatalf("unmodified model: %v", err)
			}
			c.mutate(m)
			if data, err := m.MarshalBinary(); err == nil {
				t.Fatalf("encoded an out-of-range field (%d bytes)", len(data))
			}
		})
	}
}
