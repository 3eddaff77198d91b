package metalearn

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"time"
)

// FormatVersion is the version of the binary model format that
// MarshalBinary writes. DecodeModel reads it, version 4 (whose models
// have no masked calibration: a prediction that marginalises missing
// inputs keeps the mixture's uncalibrated mass), version 3 (whose models
// also have no time trend) and version 2 (whose models also lack the
// calibration scores, the standard errors of the metrics and the
// artifacts' multiple-testing q-values, and fall back to the behaviour of
// their time), and refuses other versions with ErrUnsupportedVersion.
const FormatVersion = 5

// minFormatVersion is the oldest format DecodeModel still reads.
const minFormatVersion = 2

// modelMagic opens every serialised model.
var modelMagic = [8]byte{'M', 'A', 'E', 'S', 'T', 'R', 'O', 'M'}

// Decoding limits: data beyond them is refused as corrupt, so a hostile
// blob cannot make the decoder allocate or compute without bound.
const (
	maxStringLen        = 1024
	maxCandidates       = 16
	maxArtifactStats    = numClasses * maxArtifactsPerClass
	maxEncodedModelSz   = 64 << 20
	maxReliabilityNotes = 16
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the model in the versioned binary format:
//
//	magic "MAESTROM" | uint16 format version | uint16 feature-set version |
//	int64 trained-at (Unix ns) | int64 data-through (Unix ns, 0 = none) |
//	uint32 training size | uint64 seed | float64 coverage |
//	encoder (mean, scale, seen flag, missing share per numeric) |
//	class means |
//	uint32 max team size |
//	per target: calibration, metrics (with the forward validation and
//	reliability), importances, regressor parameters |
//	artifact associations | marginalisation reference rows |
//	team-size association |
//	(version 3) per target: calibration scores, metric standard errors |
//	per artifact association: p-value, q-value |
//	(version 4) per target: trend flag, per-project slope, shift, t-stat |
//	(version 5) per target: uint8 count, then per pattern a uint16 mask
//	of marginalised inputs and its calibrated mixture mass |
//	uint32 CRC-32C of everything before it
//
// Version 5 (2026-12-07) appended the masked calibration (masked.go).
// Version 4 (2026-12-07) appended the time trends (Metrics.Trend).
// Version 3 (2026-12-06) appended the calibration scores, the standard
// errors of the metrics and the artifacts' p- and q-values.
// Version 2 added the seen flags, the forward and reliability metrics, the
// reference rows and the team-size association; version 1 models are
// refused (retrain them).
//
// All integers are little-endian; strings are a uint16 length and UTF-8
// bytes. The format holds numbers and strings only: loading never executes
// anything. The GP's Cholesky factor is recomputed on load, not stored.
func (m *Model) MarshalBinary() ([]byte, error) {
	w := &writer{}
	w.b = append(w.b, modelMagic[:]...)
	w.n16("format version", FormatVersion)
	w.n16("feature-set version", m.featureSetVersion)
	w.i64(m.trainedAt.UnixNano())
	if m.dataThrough.IsZero() {
		w.i64(0)
	} else {
		w.i64(m.dataThrough.UnixNano())
	}
	w.n32("training size", m.nProjects)
	w.u64(m.seed)
	w.f64(m.coverage)
	w.u16(numNumeric)
	for j := 0; j < numNumeric; j++ {
		w.f64(m.enc.mean[j])
		w.f64(m.enc.scale[j])
		w.flag(m.enc.seen[j])
		w.f64(m.missingShare[j])
	}
	w.n16("class count", numClasses)
	for _, v := range m.classMean {
		w.f64(v)
	}
	w.n32("max team size", m.maxTeamSize)
	w.n8("target count", int(numTargets))
	for t := range m.targets {
		if err := w.target(&m.targets[t]); err != nil {
			return nil, err
		}
	}
	w.n32("artifact count", len(m.artifacts))
	for _, a := range m.artifacts {
		w.str(a.class)
		w.str(a.id)
		w.str(a.name)
		w.n32("artifact with-count", a.withN)
		w.f64(a.withMean)
		w.n32("artifact without-count", a.withoutN)
		w.f64(a.withoutMean)
		w.f64(a.adjLift)
		w.f64(a.evidence)
	}
	w.n16("reference row count", len(m.refRaw))
	for _, r := range m.refRaw {
		for _, v := range r {
			w.f64(v)
		}
	}
	te := &m.team
	w.flag(te.valid)
	w.n32("team-effect size", te.n)
	for a := 0; a < teamBasis; a++ {
		w.f64(te.beta[a])
	}
	for a := 0; a < teamBasis; a++ {
		for b := 0; b < teamBasis; b++ {
			w.f64(te.cov[a][b])
		}
	}
	w.f64(te.wald)
	w.f64(te.pEffect)
	for t := range m.targets {
		tm := &m.targets[t]
		w.n16("score count", len(tm.scores))
		for _, v := range tm.scores {
			w.f64(v)
		}
		met := &tm.metrics
		for _, v := range []float64{met.CVMAEStdErr, met.GainOverBaseline, met.GainStdErr, met.SelectionMargin, met.SelectionStdErr} {
			w.f64(v)
		}
	}
	for _, a := range m.artifacts {
		w.f64(a.pValue)
		w.f64(a.qValue)
	}
	for t := range m.targets {
		tr := m.targets[t].metrics.Trend
		w.flag(tr != nil)
		if tr != nil {
			w.f64(tr.PerProject)
			w.f64(tr.Shift)
			w.f64(tr.TStat)
		}
	}
	for t := range m.targets {
		ms := m.targets[t].masked
		w.n8("masked pattern count", len(ms))
		for _, ml := range ms {
			w.u16(ml.mask)
			w.f64(ml.level)
		}
	}
	if w.err != nil {
		return nil, w.err
	}
	w.u32(crc32.Checksum(w.b, crcTable))
	return w.b, nil
}

func (w *writer) target(tm *targetModel) error {
	w.n8("target", int(tm.target))
	w.str(string(tm.fit.reg.kind()))
	w.f64(tm.fit.mean)
	w.f64(tm.fit.scale)
	w.f64(tm.q)
	w.f64(tm.sigmaRef)
	w.f64(tm.baseHalf)
	met := tm.metrics
	w.str(string(met.Model))
	w.f64(met.CVMAE)
	w.f64(met.CVSpearman)
	w.f64(met.BaselineMAE)
	w.n16("fold count", met.Folds)
	w.n16("candidate count", len(met.Candidates))
	for _, c := range met.Candidates {
		w.str(string(c.Model))
		w.f64(c.CVMAE)
		w.f64(c.CVSpearman)
	}
	w.optF64(met.ForwardMAE)
	w.optF64(met.ForwardCoverage)
	w.optF64(met.ForwardBaselineMAE)
	w.n32("forward size", met.ForwardN)
	w.str(met.Reliability)
	w.n16("reliability note count", len(met.ReliabilityNotes))
	for _, n := range met.ReliabilityNotes {
		w.str(n)
	}
	w.n16("importance count", len(tm.importances))
	for _, fi := range tm.importances {
		w.str(fi.Feature)
		w.f64(fi.MAEIncrease)
		w.f64(fi.Share)
	}
	switch r := tm.fit.reg.(type) {
	case meanModel:
		w.f64(r.m)
	case *ridgeModel:
		if r.quadratic {
			w.u8(1)
		} else {
			w.u8(0)
		}
		w.f64(r.lambda)
		w.f64(r.intercept)
		w.n32("ridge coefficient count", len(r.beta))
		for j := range r.beta {
			w.f64(r.colMean[j])
			w.f64(r.colScale[j])
			w.f64(r.beta[j])
		}
	case *gpModel:
		w.n16("GP dimension", r.d)
		for _, v := range r.logLen {
			w.f64(v)
		}
		w.f64(r.logSf)
		w.f64(r.logSn)
		w.n32("GP point count", len(r.y))
		for _, v := range r.x {
			w.f64(v)
		}
		for _, v := range r.y {
			w.f64(v)
		}
	default:
		return fmt.Errorf("metalearn: cannot encode regressor %T", r)
	}
	return nil
}

// DecodeModel decodes a model written by MarshalBinary. It checks the
// magic, refuses unknown format and feature-set versions with
// ErrUnsupportedVersion, verifies the checksum, bounds every length, checks
// every value, and reports anything malformed as ErrCorruptModel.
func DecodeModel(data []byte) (*Model, error) {
	if len(data) > maxEncodedModelSz {
		return nil, fmt.Errorf("%w: %d bytes exceeds the %d-byte limit", ErrCorruptModel, len(data), maxEncodedModelSz)
	}
	if len(data) < len(modelMagic)+4+4 || [8]byte(data[:8]) != modelMagic {
		return nil, fmt.Errorf("%w: not a metalearn model", ErrCorruptModel)
	}
	fv := binary.LittleEndian.Uint16(data[8:])
	fs := binary.LittleEndian.Uint16(data[10:])
	if fv < minFormatVersion || fv > FormatVersion {
		return nil, fmt.Errorf("%w: format version %d (this build reads %d–%d)", ErrUnsupportedVersion, fv, minFormatVersion, FormatVersion)
	}
	if fs != FeatureSetVersion {
		return nil, fmt.Errorf("%w: feature set version %d (this build encodes %d)", ErrUnsupportedVersion, fs, FeatureSetVersion)
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptModel)
	}
	r := &reader{b: body, off: 12}
	m := &Model{formatVersion: int(fv), featureSetVersion: int(fs)}
	m.trainedAt = time.Unix(0, r.i64()).UTC()
	if dt := r.i64(); dt != 0 {
		m.dataThrough = time.Unix(0, dt).UTC()
	}
	m.nProjects = int(r.u32())
	m.seed = r.u64()
	m.coverage = r.f64()
	if r.u16() != numNumeric {
		r.fail("encoder width")
	}
	for j := 0; j < numNumeric && r.err == nil; j++ {
		m.enc.mean[j] = r.f64()
		m.enc.scale[j] = r.f64()
		m.enc.seen[j] = r.flag()
		if m.missingShare[j] = r.f64(); !(m.missingShare[j] >= 0 && m.missingShare[j] <= 1) {
			r.fail("missing share")
		}
	}
	if int(r.u16()) != numClasses {
		r.fail("class count")
	}
	for j := 0; j < numClasses && r.err == nil; j++ {
		m.classMean[j] = r.f64()
	}
	m.maxTeamSize = int(r.u32())
	if r.u8() != uint8(numTargets) {
		r.fail("target count")
	}
	for t := 0; t < int(numTargets) && r.err == nil; t++ {
		m.targets[t] = r.target(Target(t))
	}
	na := r.count32(maxArtifactStats, 2+2+2+4+8+4+8+8+8)
	for i := 0; i < na && r.err == nil; i++ {
		a := artifactStat{class: r.str(), id: r.str(), name: r.str()}
		a.withN = int(r.u32())
		a.withMean = r.f64()
		a.withoutN = int(r.u32())
		a.withoutMean = r.f64()
		a.adjLift = r.f64()
		a.evidence = r.f64()
		if !knownClass(a.class) || !finite(a.withMean) || !finite(a.withoutMean) || !finite(a.adjLift) || !finite(a.evidence) {
			r.fail("artifact association")
		}
		m.artifacts = append(m.artifacts, a)
	}
	nr := r.count16(maxMarginalRows, 8*numNumeric)
	for i := 0; i < nr && r.err == nil; i++ {
		var row [numNumeric]float64
		for j := range row {
			row[j] = r.f64()
			if math.IsInf(row[j], 0) {
				r.fail("reference row")
			}
		}
		m.refRaw = append(m.refRaw, row)
	}
	te := &m.team
	te.valid = r.flag()
	te.n = int(r.u32())
	for a := 0; a < teamBasis; a++ {
		te.beta[a] = r.f64()
	}
	for a := 0; a < teamBasis; a++ {
		for b := 0; b < teamBasis; b++ {
			te.cov[a][b] = r.f64()
		}
	}
	te.wald = r.f64()
	te.pEffect = r.f64()
	if fv >= 3 {
		for t := range m.targets {
			tm := &m.targets[t]
			ns := r.count16(maxStoredScores, 8)
			for i := 0; i < ns && r.err == nil; i++ {
				v := r.f64()
				if !(v >= 0) || (i > 0 && v < tm.scores[i-1]) {
					r.fail("calibration scores")
				}
				tm.scores = append(tm.scores, v)
			}
			met := &tm.metrics
			for _, p := range []*float64{&met.CVMAEStdErr, &met.GainOverBaseline, &met.GainStdErr, &met.SelectionMargin, &met.SelectionStdErr} {
				*p = r.f64()
				if math.IsNaN(*p) {
					r.fail("metric standard errors")
				}
			}
		}
		for i := range m.artifacts {
			a := &m.artifacts[i]
			a.pValue, a.qValue = r.f64(), r.f64()
			okP := math.IsNaN(a.pValue) || (a.pValue >= 0 && a.pValue <= 1)
			okQ := math.IsNaN(a.qValue) || (a.qValue >= 0 && a.qValue <= 1)
			if !okP || !okQ {
				r.fail("artifact q-values")
			}
		}
	} else {
		for i := range m.artifacts {
			m.artifacts[i].pValue, m.artifacts[i].qValue = math.NaN(), math.NaN()
		}
	}
	if fv >= 4 {
		for t := range m.targets {
			if r.flag() {
				tr := &Trend{PerProject: r.f64(), Shift: r.f64(), TStat: r.f64()}
				if !finite(tr.PerProject) || !finite(tr.Shift) || !(math.Abs(tr.TStat) >= TrendMinTStat) || math.IsInf(tr.TStat, 0) {
					r.fail("time trend")
				}
				m.targets[t].metrics.Trend = tr
			}
		}
	}
	if fv >= 5 {
		for t := range m.targets {
			k := int(r.u8())
			if k > maxMaskedPatterns {
				r.fail("masked pattern count")
			}
			tm := &m.targets[t]
			for i := 0; i < k && r.err == nil; i++ {
				ml := maskedLevel{mask: r.u16(), level: r.f64()}
				if ml.mask == 0 || ml.mask >= 1<<numNumeric || !(ml.level > 0 && ml.level <= 1) || (i > 0 && ml.mask <= tm.masked[i-1].mask) {
					r.fail("masked calibration")
				}
				tm.masked = append(tm.masked, ml)
			}
		}
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

func (r *reader) target(t Target) targetModel {
	tm := targetModel{target: t}
	if Target(r.u8()) != t {
		r.fail("target order")
		return tm
	}
	kind := ModelKind(r.str())
	tm.fit.mean = r.f64()
	tm.fit.scale = r.f64()
	tm.q = r.f64()
	tm.sigmaRef = r.f64()
	tm.baseHalf = r.f64()
	tm.metrics.Model = ModelKind(r.str())
	tm.metrics.CVMAE = r.f64()
	tm.metrics.CVSpearman = r.f64()
	tm.metrics.BaselineMAE = r.f64()
	tm.metrics.Folds = int(r.u16())
	nc := r.count16(maxCandidates, 2+16)
	for i := 0; i < nc && r.err == nil; i++ {
		tm.metrics.Candidates = append(tm.metrics.Candidates, CandidateMetrics{Model: ModelKind(r.str()), CVMAE: r.f64(), CVSpearman: r.f64()})
	}
	tm.metrics.ForwardMAE = r.optF64()
	tm.metrics.ForwardCoverage = r.optF64()
	tm.metrics.ForwardBaselineMAE = r.optF64()
	tm.metrics.ForwardN = int(r.u32())
	tm.metrics.Reliability = r.str()
	nn := r.count16(maxReliabilityNotes, 2)
	tm.metrics.ReliabilityNotes = []string{}
	for i := 0; i < nn && r.err == nil; i++ {
		tm.metrics.ReliabilityNotes = append(tm.metrics.ReliabilityNotes, r.str())
	}
	ni := r.count16(numGroups, 2+16)
	for i := 0; i < ni && r.err == nil; i++ {
		tm.importances = append(tm.importances, FeatureImportance{Feature: r.str(), MAEIncrease: r.f64(), Share: r.f64()})
	}
	if r.err != nil {
		return tm
	}
	switch kind {
	case KindMean:
		tm.fit.reg = meanModel{m: r.f64()}
	case KindRidge, KindRidgeQuadratic:
		rm := &ridgeModel{quadratic: r.u8() == 1}
		rm.lambda = r.f64()
		rm.intercept = r.f64()
		p := r.count32(designDim(true), 24)
		if r.err == nil && (p != designDim(rm.quadratic) || (kind == KindRidgeQuadratic) != rm.quadratic) {
			r.fail("ridge dimensions")
			return tm
		}
		rm.colMean, rm.colScale, rm.beta = make([]float64, p), make([]float64, p), make([]float64, p)
		for j := 0; j < p && r.err == nil; j++ {
			rm.colMean[j], rm.colScale[j], rm.beta[j] = r.f64(), r.f64(), r.f64()
		}
		tm.fit.reg = rm
	case KindGP:
		g := &gpModel{d: int(r.u16())}
		if r.err == nil && g.d != encodedDim {
			r.fail("GP dimension")
			return tm
		}
		g.logLen = make([]float64, g.d)
		for k := range g.logLen {
			g.logLen[k] = r.f64()
		}
		g.logSf, g.logSn = r.f64(), r.f64()
		mPts := r.count32(MaxGPPoints, 8*(g.d+1))
		g.x = make([]float64, mPts*g.d)
		for i := range g.x {
			g.x[i] = r.f64()
		}
		g.y = make([]float64, mPts)
		for i := range g.y {
			g.y[i] = r.f64()
		}
		if r.err == nil {
			if err := g.prepare(); err != nil {
				r.err = fmt.Errorf("%w: %v", ErrCorruptModel, err)
			}
		}
		tm.fit.reg = g
	default:
		r.fail("model kind")
	}
	return tm
}

// check validates the decoded values that the reader cannot check locally.
func (m *Model) check() error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrCorruptModel, what) }
	if !m.enc.valid() {
		return bad("encoder statistics")
	}
	if !(m.coverage > 0 && m.coverage < 1) {
		return bad("coverage")
	}
	if m.nProjects < 1 || m.maxTeamSize < 1 || m.maxTeamSize > MaxTeamSize {
		return bad("training size")
	}
	for _, v := range m.classMean {
		if !finite(v) || v < 0 || v > 1 {
			return bad("class means")
		}
	}
	if te := m.team; te.valid {
		ok := finite(te.wald) && te.wald >= 0 && te.pEffect >= 0 && te.pEffect <= 1 && te.n > 0
		for a := 0; a < teamBasis; a++ {
			ok = ok && finite(te.beta[a]) && te.cov[a][a] >= 0
			for b := 0; b < teamBasis; b++ {
				ok = ok && finite(te.cov[a][b])
			}
		}
		if !ok {
			return bad("team-size association")
		}
	}
	for t := range m.targets {
		tm := &m.targets[t]
		if tm.fit.reg == nil || !finite(tm.fit.mean) || !finite(tm.fit.scale) || tm.fit.scale <= 0 ||
			!(tm.q >= 0) || math.IsNaN(tm.q) || !finite(tm.sigmaRef) || tm.sigmaRef <= 0 || !(tm.baseHalf >= 0) {
			return bad("calibration of " + Target(t).String())
		}
		if met := tm.metrics; met.Reliability != ReliabilityOK && met.Reliability != ReliabilityLow {
			return bad("reliability of " + Target(t).String())
		}
		if tm.metrics.Model != tm.fit.reg.kind() || !tm.metrics.Model.valid() {
			return bad("model kind of " + Target(t).String())
		}
		switch r := tm.fit.reg.(type) {
		case meanModel:
			if !finite(r.m) {
				return bad("mean model")
			}
		case *ridgeModel:
			for j := range r.beta {
				if !finite(r.beta[j]) || !finite(r.colMean[j]) || !finite(r.colScale[j]) || r.colScale[j] <= 0 {
					return bad("ridge coefficients")
				}
			}
			if !finite(r.intercept) {
				return bad("ridge intercept")
			}
		}
	}
	return nil
}

// writer appends little-endian values. The n8, n16 and n32 methods write
// an int as an unsigned field of that width after checking that it fits;
// the first value that does not is kept in err (and written as zero), so a
// caller checks err once at the end instead of after every field.
type writer struct {
	b   []byte
	err error
}

// fits reports whether v fits an unsigned field whose largest value is max,
// recording an error naming the field when it does not.
func (w *writer) fits(what string, v int, max uint64) bool {
	if v >= 0 && uint64(v) <= max {
		return true
	}
	if w.err == nil {
		w.err = fmt.Errorf("metalearn: cannot encode %s %d: outside the format's range 0..%d", what, v, max)
	}
	return false
}

// n8 writes v as a uint8 if it fits, else zero and records an error.
func (w *writer) n8(what string, v int) {
	if !w.fits(what, v, math.MaxUint8) {
		v = 0
	}
	w.u8(uint8(v)) // #nosec G115 -- bounded by fits above
}

// n16 writes v as a uint16 if it fits, else zero and records an error.
func (w *writer) n16(what string, v int) {
	if !w.fits(what, v, math.MaxUint16) {
		v = 0
	}
	w.u16(uint16(v)) // #nosec G115 -- bounded by fits above
}

// n32 writes v as a uint32 if it fits, else zero and records an error.
func (w *writer) n32(what string, v int) {
	if !w.fits(what, v, math.MaxUint32) {
		v = 0
	}
	w.u32(uint32(v)) // #nosec G115 -- bounded by fits above
}

func (w *writer) u8(v uint8) { w.b = append(w.b, v) }

// flag writes a bool as one byte, 0 or 1.
func (w *writer) flag(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}

// optF64 writes an optional float64, NaN for nil.
func (w *writer) optF64(v *float64) {
	if v == nil {
		w.f64(math.NaN())
	} else {
		w.f64(*v)
	}
}

func (w *writer) u16(v uint16)  { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32)  { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64)  { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *writer) i64(v int64)   { w.u64(uint64(v)) } // #nosec G115 -- two's-complement bits written as they are; i64 reads them back
func (w *writer) f64(v float64) { w.u64(math.Float64bits(v)) }
func (w *writer) str(s string) {
	if len(s) > maxStringLen {
		w.err = fmt.Errorf("metalearn: string of %d bytes exceeds the format's %d-byte limit", len(s), maxStringLen)
		s = s[:0]
	}
	w.n16("string length", len(s))
	w.b = append(w.b, s...)
}

// reader consumes little-endian values with bounds checks; after the first
// failure every read returns zero and err holds an ErrCorruptModel.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrCorruptModel, what)
	}
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.fail("truncated")
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) u8() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) i64() int64 { return int64(r.u64()) } // #nosec G115 -- two's-complement bits read back as written by i64

// flag reads a bool written by writer.flag; other bytes are corrupt.
func (r *reader) flag() bool {
	switch r.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("flag")
	return false
}

// optF64 reads an optional float64 (NaN is nil); infinities are corrupt.
func (r *reader) optF64() *float64 {
	v := r.f64()
	if math.IsNaN(v) {
		return nil
	}
	if math.IsInf(v, 0) {
		r.fail("optional number")
		return nil
	}
	return &v
}

func (r *reader) f64() float64 { return math.Float64frombits(r.u64()) }

func (r *reader) str() string {
	n := int(r.u16())
	if n > maxStringLen {
		r.fail("string length")
		return ""
	}
	return string(r.take(n))
}

// count32 reads a uint32 element count and refuses counts above limit or
// larger than the remaining bytes allow at minSize bytes per element.
func (r *reader) count32(limit, minSize int) int { return r.bound(int(r.u32()), limit, minSize) }

// count16 is count32 for a uint16 count.
func (r *reader) count16(limit, minSize int) int { return r.bound(int(r.u16()), limit, minSize) }

func (r *reader) bound(n, limit, minSize int) int {
	if r.err != nil {
		return 0
	}
	if n > limit || n*minSize > len(r.b)-r.off {
		r.fail("element count")
		return 0
	}
	return n
}
