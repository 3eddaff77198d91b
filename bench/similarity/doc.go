// Package similaritybench compares the exact vector search of Maestro's
// similarity package with github.com/philippgille/chromem-go on the same
// vectors in the same benchmark run. It is a separate module so that
// chromem-go never becomes a dependency of the library.
//
// Run from this directory:
//
//	go test -run '^$' -bench . -benchtime 50x
//
// Both engines search n random 384-dimension unit vectors (the dimension
// of all-MiniLM-L6-v2) for the 10 nearest of a rotating set of queries;
// p50-ns is the median latency of one search. TestSameResults checks that
// both return the same neighbours.
package similaritybench
