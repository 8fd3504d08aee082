package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
)

// within fails the test when f does not return within a few seconds (it would be waiting for a
// lock held by a removal the test keeps from finishing).
func within(t *testing.T, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not complete while a removal was in progress: it waits for it", what)
	}
}

func folderNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func layerNames(st State) []string {
	names := []string{}
	for id := range st.Layers {
		names = append(names, id)
	}
	sort.Strings(names)
	return names
}

func TestOtherOperationsCompleteWhileADestroyedVolumesDataIsBeingRemoved(t *testing.T) {
	removing, finish := make(chan string, 10), make(chan struct{})
	var finishOnce sync.Once
	release := func() { finishOnce.Do(func() { close(finish) }) }
	d := newDriverRemovingWith(t, func(path string) error {
		removing <- path
		<-finish // a big dataset: the removal takes as long as the test wants
		return os.RemoveAll(path)
	})
	t.Cleanup(release) // a failed test does not leave the removal (and Close) hanging
	mustVolume(t, d, "pvc-big", 10*mib, "", nil)
	writeFile(t, d, "pvc-big", "a", "lots of data")
	bigLayer := d.pool.Dataset("pvc-big").Upper

	deleted := make(chan error, 1)
	go func() {
		_, err := d.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "pvc-big"})
		deleted <- err
	}()
	var inTrash string
	select {
	case inTrash = <-removing:
	case <-time.After(5 * time.Second):
		t.Fatal("the destroyed volume's layer was never removed")
	}
	if !strings.HasPrefix(inTrash, d.pool.trashDir()+string(filepath.Separator)) {
		t.Fatalf("removing %s, want a folder in the trash %s", inTrash, d.pool.trashDir())
	}

	// The removal is in progress: the pool's state already says the volume and its layer are gone.
	within(t, "DeleteVolume of the big volume", func() error { return <-deleted })
	st := d.pool.Snapshot()
	if st.Datasets["pvc-big"] != nil || len(st.Layers) != 0 {
		t.Fatalf("state during the removal still holds the volume: %+v", st)
	}
	if got := folderNames(t, filepath.Join(d.pool.dir, "layers")); len(got) != 0 {
		t.Fatalf("layers/ during the removal: %v, want what the pool holds (nothing)", got)
	}
	if _, err := os.Stat(filepath.Join(inTrash, bigLayer, "a")); err != nil {
		t.Fatalf("the big layer is not in the trash being removed: %v", err)
	}

	// Every other operation goes on meanwhile.
	within(t, "CreateVolume", func() error {
		_, err := createVolume(t, d, "pvc-other", 10*mib, "", nil)
		return err
	})
	within(t, "CreateSnapshot", func() error {
		_, err := d.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snapshot-1", SourceVolumeId: "pvc-other"})
		return err
	})
	within(t, "ListSnapshots", func() error {
		_, err := d.ListSnapshots(ctx, &csi.ListSnapshotsRequest{})
		return err
	})
	within(t, "DeleteSnapshot", func() error {
		_, err := d.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: "pvc-other@snapshot-1"})
		return err
	})
	within(t, "reading the state", func() error { d.pool.Snapshot(); return nil })

	release()
	d.pool.Close() // waits until the sweeper has emptied the trash
	if got := folderNames(t, d.pool.trashDir()); len(got) != 0 {
		t.Fatalf("trash left after the removal: %v", got)
	}
	if _, err := os.Stat(d.pool.layerDir(d.pool.Dataset("pvc-other").Upper)); err != nil {
		t.Fatalf("the other volume lost its layer: %v", err)
	}
}

func TestAWorkDirLeftByASnapshotGoesThroughTheTrash(t *testing.T) {
	var removed []string
	d := newDriverRemovingWith(t, func(path string) error {
		removed = append(removed, path)
		return os.RemoveAll(path)
	})
	mustVolume(t, d, "pvc-src", 10*mib, "", nil)
	writeFile(t, d, "pvc-src", "a", "one")
	work := d.pool.workDir("pvc-src")
	if err := os.MkdirAll(filepath.Join(work, "work"), 0o755); err != nil { // as an unmounted overlay leaves it
		t.Fatal(err)
	}
	mustSnapshot(t, d, "pvc-src", "snapshot-1")
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Fatalf("the work dir of the frozen upper is still in place: %v", err)
	}
	d.pool.Close()
	if len(removed) != 1 || !strings.HasPrefix(removed[0], d.pool.trashDir()) {
		t.Fatalf("removed %v, want the work dir, from the trash", removed)
	}
}

func TestLeftoversOfACrashAreRemovedAtStartUp(t *testing.T) {
	d := newDriver(t)
	mustVolume(t, d, "pvc-src", 10*mib, "", nil)
	writeFile(t, d, "pvc-src", "a", "kept")
	mustSnapshot(t, d, "pvc-src", "snapshot-1")
	d.pool.Close()
	dir := d.pool.dir
	unsaved := fmt.Sprintf("l%d", d.pool.Snapshot().NextLayer+1)
	// The crash: a layer moved into the trash but not yet removed; a layer the saved state no
	// longer refers to, not yet moved; a layer folder made by an operation whose state was never
	// saved; the overlay work dir of a destroyed dataset.
	mkfile := func(path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mkfile(filepath.Join(dir, "trash", "l7-123", "l7", "deep", "file"))
	mkfile(filepath.Join(dir, "layers", "l8", "file"))
	mkfile(filepath.Join(dir, "layers", unsaved, "file"))
	mkfile(filepath.Join(dir, "work", "pvc-gone", "work", "file"))

	p, err := OpenPool(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Close() // waits for the sweeper's first round
	if got := folderNames(t, filepath.Join(dir, "trash")); len(got) != 0 {
		t.Fatalf("trash after start-up: %v", got)
	}
	st := p.Snapshot()
	if got, want := strings.Join(folderNames(t, filepath.Join(dir, "layers")), ","), strings.Join(layerNames(st), ","); got != want {
		t.Fatalf("layers/ after start-up holds %s, the pool %s", got, want)
	}
	if got := folderNames(t, filepath.Join(dir, "work")); len(got) != 0 {
		t.Fatalf("work dirs after start-up: %v", got)
	}
	snap := p.SnapshotOf("pvc-src@snapshot-1")
	if b, err := os.ReadFile(filepath.Join(p.layerDir(snap.Layers[0]), "a")); err != nil || string(b) != "kept" {
		t.Fatalf("the snapshot's data after start-up: %q, %v", b, err)
	}
	// The next new layer gets the id of the one the unsaved operation left behind.
	if err := p.Create("pvc-new", "zfspv-pool", "node-a", 10*mib); err != nil {
		t.Fatalf("create after start-up: %v", err)
	}
	if ds := p.Dataset("pvc-new"); ds.Upper != unsaved {
		t.Fatalf("new layer %s, want %s", ds.Upper, unsaved)
	} else if empty, err := dirEmpty(p.layerDir(ds.Upper)); !empty || err != nil {
		t.Fatalf("the new volume starts with the crashed operation's files (%v)", err)
	}
}
