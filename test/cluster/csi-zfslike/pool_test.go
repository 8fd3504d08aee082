package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func newDriver(t *testing.T, nodes ...string) *driver {
	t.Helper()
	return newDriverRemovingWith(t, os.RemoveAll, nodes...)
}

// newDriverRemovingWith is newDriver whose pool empties its trash with remove.
func newDriverRemovingWith(t *testing.T, remove func(string) error, nodes ...string) *driver {
	t.Helper()
	p, err := openPool(t.TempDir(), remove)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if len(nodes) == 0 {
		nodes = []string{"node-a"}
	}
	return &driver{name: "zfs.csi.openebs.io", nodeID: nodes[0], nodes: nodes, pool: p}
}

var ctx = context.Background()

func createVolume(t *testing.T, d *driver, name string, size int64, node string, src *csi.VolumeContentSource) (*csi.Volume, error) {
	t.Helper()
	req := &csi.CreateVolumeRequest{Name: name, CapacityRange: &csi.CapacityRange{RequiredBytes: size},
		Parameters: map[string]string{"poolname": "zfspv-pool"}, VolumeContentSource: src}
	if node != "" {
		req.AccessibilityRequirements = &csi.TopologyRequirement{Preferred: []*csi.Topology{{Segments: map[string]string{TopologyKey: node}}}}
	}
	r, err := d.CreateVolume(ctx, req)
	return r.GetVolume(), err
}

func mustVolume(t *testing.T, d *driver, name string, size int64, node string, src *csi.VolumeContentSource) *csi.Volume {
	t.Helper()
	v, err := createVolume(t, d, name, size, node, src)
	if err != nil {
		t.Fatalf("CreateVolume %s: %v", name, err)
	}
	return v
}

func mustSnapshot(t *testing.T, d *driver, vol, name string) *csi.Snapshot {
	t.Helper()
	r, err := d.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: name, SourceVolumeId: vol})
	if err != nil {
		t.Fatalf("CreateSnapshot %s: %v", name, err)
	}
	return r.GetSnapshot()
}

func fromSnapshot(id string) *csi.VolumeContentSource {
	return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: id}}}
}

// writeFile writes into the dataset's own (upper) layer, as a pod would through its mount.
func writeFile(t *testing.T, d *driver, vol, name, content string) {
	t.Helper()
	ds := d.pool.Dataset(vol)
	if err := os.WriteFile(filepath.Join(d.pool.layerDir(ds.Upper), name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCloneLandsOnItsSnapshotsNodeWhateverTheTopologyAsks(t *testing.T) {
	d := newDriver(t, "node-a", "node-b")
	v := mustVolume(t, d, "pvc-src", 10*mib, "node-b", nil)
	if got := v.GetAccessibleTopology()[0].GetSegments()[TopologyKey]; got != "node-b" {
		t.Fatalf("source on %q, want node-b", got)
	}
	s := mustSnapshot(t, d, "pvc-src", "snapshot-1")
	c := mustVolume(t, d, "pvc-clone", 10*mib, "node-a", fromSnapshot(s.GetSnapshotId()))
	if got := c.GetAccessibleTopology()[0].GetSegments()[TopologyKey]; got != "node-b" {
		t.Fatalf("clone on %q, want the snapshot's node node-b", got)
	}
	// The agent of node-a cannot mount it.
	_, err := d.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "pvc-clone", TargetPath: t.TempDir() + "/m"})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("publish on node-a: %v, want FailedPrecondition", err)
	}
}

func TestCloneIsO1AndSharesTheSnapshotLayers(t *testing.T) {
	d := newDriver(t)
	mustVolume(t, d, "pvc-src", 10*mib, "", nil)
	writeFile(t, d, "pvc-src", "a", "one")
	s := mustSnapshot(t, d, "pvc-src", "snapshot-1")
	mustVolume(t, d, "pvc-clone", 10*mib, "", fromSnapshot(s.GetSnapshotId()))
	st := d.pool.Snapshot()
	clone, snap := st.Datasets["pvc-clone"], st.Snapshots["pvc-src@snapshot-1"]
	if strings.Join(clone.Lowers, ",") != strings.Join(snap.Layers, ",") || clone.Origin != "pvc-src@snapshot-1" {
		t.Fatalf("clone %+v does not sit on snapshot %+v", clone, snap)
	}
	if empty, _ := dirEmpty(d.pool.layerDir(clone.Upper)); !empty {
		t.Fatal("the clone's own layer is not empty: data was copied")
	}
}

func TestSnapshotIsImmutableAndFreezesWithoutCopying(t *testing.T) {
	d := newDriver(t)
	mustVolume(t, d, "pvc-src", 10*mib, "", nil)
	writeFile(t, d, "pvc-src", "a", "one")
	before := d.pool.Dataset("pvc-src").Upper
	mustSnapshot(t, d, "pvc-src", "snapshot-1")
	snap := d.pool.SnapshotOf("pvc-src@snapshot-1")
	if len(snap.Layers) != 1 || snap.Layers[0] != before {
		t.Fatalf("snapshot layers %v, want the frozen upper %s (no copy)", snap.Layers, before)
	}
	writeFile(t, d, "pvc-src", "a", "two")
	got, err := os.ReadFile(filepath.Join(d.pool.layerDir(snap.Layers[0]), "a"))
	if err != nil || string(got) != "one" {
		t.Fatalf("snapshot content %q (%v), want \"one\"", got, err)
	}
}

func TestSnapshotOfAMountedVolumeCopiesOnlyItsOwnLayer(t *testing.T) {
	d := newDriver(t)
	d.pool.mounted = func(string) bool { return true }
	mustVolume(t, d, "pvc-src", 10*mib, "", nil)
	writeFile(t, d, "pvc-src", "a", "one")
	mustSnapshot(t, d, "pvc-src", "snapshot-1")
	writeFile(t, d, "pvc-src", "a", "two")
	snap := d.pool.SnapshotOf("pvc-src@snapshot-1")
	got, _ := os.ReadFile(filepath.Join(d.pool.layerDir(snap.Layers[0]), "a"))
	if string(got) != "one" {
		t.Fatalf("snapshot of a mounted volume holds %q, want \"one\"", got)
	}
}

func TestCloneMustRequestExactlyTheSnapshotSize(t *testing.T) {
	d := newDriver(t)
	mustVolume(t, d, "pvc-src", 2*gib, "", nil)
	s := mustSnapshot(t, d, "pvc-src", "snapshot-1")
	if s.GetSizeBytes() != 2*gib {
		t.Fatalf("restore size %d, want the source capacity %d", s.GetSizeBytes(), 2*gib)
	}
	for _, size := range []int64{1 * gib, 3 * gib} {
		_, err := createVolume(t, d, "pvc-clone", size, "", fromSnapshot(s.GetSnapshotId()))
		if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "clone volume size is not matching") {
			t.Fatalf("clone of %d bytes: %v", size, err)
		}
	}
	// 2 GiB minus a byte rounds up to 2 GiB, as in zfs-localpv.
	mustVolume(t, d, "pvc-clone", 2*gib-1, "", fromSnapshot(s.GetSnapshotId()))
}

func TestDeletingASnapshotWithALiveCloneAnswersOKAndKeepsTheDataUntilTheCloneIsGone(t *testing.T) {
	d := newDriver(t)
	mustVolume(t, d, "pvc-src", 10*mib, "", nil)
	writeFile(t, d, "pvc-src", "a", "one")
	s := mustSnapshot(t, d, "pvc-src", "snapshot-1")
	mustVolume(t, d, "pvc-clone", 10*mib, "", fromSnapshot(s.GetSnapshotId()))
	if _, err := d.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: s.GetSnapshotId()}); err != nil {
		t.Fatalf("DeleteSnapshot: %v", err)
	}
	st := d.pool.Snapshot()
	if st.Snapshots[s.GetSnapshotId()] == nil || !contains(st.PendingDestroys, s.GetSnapshotId()) {
		t.Fatalf("snapshot gone or not pending: %+v", st)
	}
	if l, _ := d.ListSnapshots(ctx, &csi.ListSnapshotsRequest{}); len(l.GetEntries()) != 0 {
		t.Fatalf("a deleted snapshot is still listed: %v", l.GetEntries())
	}
	d.pool.RetryPending()
	if d.pool.SnapshotOf(s.GetSnapshotId()) == nil {
		t.Fatal("retry destroyed a snapshot that still has a clone")
	}
	if _, err := d.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "pvc-clone"}); err != nil {
		t.Fatal(err)
	}
	st = d.pool.Snapshot()
	if st.Snapshots[s.GetSnapshotId()] != nil || len(st.PendingDestroys) != 0 {
		t.Fatalf("snapshot still there after its last clone went: %+v", st)
	}
	frozen := d.pool.Dataset("pvc-src").Lowers[0]
	if st.Layers[frozen] != 1 {
		t.Fatalf("the frozen layer should now be held by the source only: %v", st.Layers)
	}
}

func TestDeletingAVolumeDestroysItsSnapshotsAndALaterCloneFails(t *testing.T) {
	d := newDriver(t)
	mustVolume(t, d, "pvc-src", 10*mib, "", nil)
	writeFile(t, d, "pvc-src", "a", "one")
	s := mustSnapshot(t, d, "pvc-src", "snapshot-1")
	if _, err := d.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "pvc-src"}); err != nil {
		t.Fatal(err)
	}
	st := d.pool.Snapshot()
	if len(st.Snapshots) != 0 || len(st.Datasets) != 0 || len(st.Layers) != 0 {
		t.Fatalf("left behind: %+v", st)
	}
	entries, _ := os.ReadDir(filepath.Join(d.pool.dir, "layers"))
	if len(entries) != 0 {
		t.Fatalf("layer folders left: %v", entries)
	}
	_, err := createVolume(t, d, "pvc-clone", 10*mib, "", fromSnapshot(s.GetSnapshotId()))
	if err == nil || !strings.Contains(err.Error(), "dataset does not exist") {
		t.Fatalf("clone from a destroyed snapshot: %v", err)
	}
}

func TestAVolumeWhoseSnapshotHasALiveCloneCannotBeDeleted(t *testing.T) {
	d := newDriver(t)
	mustVolume(t, d, "pvc-src", 10*mib, "", nil)
	s := mustSnapshot(t, d, "pvc-src", "snapshot-1")
	mustVolume(t, d, "pvc-clone", 10*mib, "", fromSnapshot(s.GetSnapshotId()))
	for i := 0; i < 2; i++ { // retried: fails every time
		_, err := d.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "pvc-src"})
		if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "dependent clones") {
			t.Fatalf("DeleteVolume of a volume with a cloned snapshot: %v", err)
		}
	}
	if d.pool.Dataset("pvc-src") == nil || d.pool.SnapshotOf(s.GetSnapshotId()) == nil {
		t.Fatal("a refused destroy -r destroyed something")
	}
	if _, err := d.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "pvc-clone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "pvc-src"}); err != nil {
		t.Fatalf("DeleteVolume after the clone went: %v", err)
	}
}

func TestPVCToPVCCloneUsesAHiddenSnapshotThatGoesWithTheClone(t *testing.T) {
	d := newDriver(t)
	mustVolume(t, d, "pvc-src", 10*mib, "", nil)
	src := &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: "pvc-src"}}}
	mustVolume(t, d, "pvc-clone", 10*mib, "", src)
	if d.pool.SnapshotOf("pvc-src@pvc-clone") == nil {
		t.Fatal("no hidden snapshot pvc-src@pvc-clone")
	}
	if _, err := d.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "pvc-clone"}); err != nil {
		t.Fatal(err)
	}
	if d.pool.SnapshotOf("pvc-src@pvc-clone") != nil {
		t.Fatal("hidden snapshot left after its clone was deleted")
	}
}

func TestStateSurvivesARestart(t *testing.T) {
	d := newDriver(t)
	mustVolume(t, d, "pvc-src", 10*mib, "", nil)
	mustSnapshot(t, d, "pvc-src", "snapshot-1")
	p, err := OpenPool(d.pool.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if p.SnapshotOf("pvc-src@snapshot-1") == nil || p.Dataset("pvc-src") == nil {
		t.Fatalf("state not reloaded: %+v", p.Snapshot())
	}
}

func TestRefusesBadInput(t *testing.T) {
	d := newDriver(t)
	for _, name := range []string{"", "../x", "a/b"} {
		if _, err := createVolume(t, d, name, mib, "", nil); status.Code(err) != codes.InvalidArgument {
			t.Errorf("volume name %q: %v", name, err)
		}
	}
	if _, err := d.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: "../../etc"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("snapshot id ../../etc: %v", err)
	}
	_, err := d.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-x"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "poolname") {
		t.Errorf("no poolname: %v", err)
	}
	if _, err := createVolume(t, d, "pvc-y", mib, "node-z", nil); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("volume on a node without a pool: %v", err)
	}
	if !errors.Is(d.pool.TakeSnapshot("pvc-none", "s"), errNotFound) {
		t.Error("snapshot of a missing dataset")
	}
}
