package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
)

// Through real overlay mounts (needs root, as the driver does): what a pod sees.
func TestPublishedVolumesBehaveLikeZFSDatasets(t *testing.T) {
	d := newDriver(t)
	targets := t.TempDir()
	publish := func(vol, target string) string {
		t.Helper()
		p := filepath.Join(targets, target)
		if _, err := d.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: vol, TargetPath: p}); err != nil {
			t.Fatalf("publish %s: %v", vol, err)
		}
		t.Cleanup(func() { _, _ = d.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{TargetPath: p}) })
		return p
	}
	unpublish := func(p string) {
		t.Helper()
		if _, err := d.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{TargetPath: p}); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}

	mustVolume(t, d, "pvc-src", 10*mib, "", nil)
	src := publish("pvc-src", "src")
	if err := os.WriteFile(filepath.Join(src, "gen"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "gone-later"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Snapshot while a pod has it mounted, then keep writing.
	s1 := mustSnapshot(t, d, "pvc-src", "snapshot-1")
	if err := os.WriteFile(filepath.Join(src, "gen"), []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	unpublish(src)

	mustVolume(t, d, "pvc-c1", 10*mib, "", fromSnapshot(s1.GetSnapshotId()))
	c1 := publish("pvc-c1", "c1")
	if got := read(filepath.Join(c1, "gen")); got != "1" {
		t.Fatalf("clone of snapshot-1 reads gen=%q, want 1", got)
	}
	// The clone writes and deletes; neither the snapshot nor the source sees it.
	if err := os.WriteFile(filepath.Join(c1, "gen"), []byte("c1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(c1, "gone-later")); err != nil {
		t.Fatal(err)
	}
	unpublish(c1)
	// Snapshot of the unmounted clone (O(1) freeze, with a whiteout in the frozen layer), clone of that.
	s2 := mustSnapshot(t, d, "pvc-c1", "snapshot-2")
	mustVolume(t, d, "pvc-c2", 10*mib, "", fromSnapshot(s2.GetSnapshotId()))
	c2 := publish("pvc-c2", "c2")
	if got := read(filepath.Join(c2, "gen")); got != "c1" {
		t.Fatalf("clone of snapshot-2 reads gen=%q, want c1", got)
	}
	if _, err := os.Stat(filepath.Join(c2, "gone-later")); !os.IsNotExist(err) {
		t.Fatalf("a file deleted before snapshot-2 is back in its clone: %v", err)
	}
	mustVolume(t, d, "pvc-c3", 10*mib, "", fromSnapshot(s1.GetSnapshotId()))
	c3 := publish("pvc-c3", "c3")
	if got := read(filepath.Join(c3, "gen")); got != "1" {
		t.Fatalf("a second clone of snapshot-1 reads gen=%q, want 1 (snapshot changed)", got)
	}
	src = publish("pvc-src", "src2")
	if got := read(filepath.Join(src, "gen")); got != "2" {
		t.Fatalf("source reads gen=%q, want 2", got)
	}
}
