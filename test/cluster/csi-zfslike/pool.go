package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Pool is the ZFS model: datasets (volumes), snapshots of them, clones of snapshots, and ZFS's
// dependency rules between them. Data lives in layers (folders under <dir>/layers): a dataset is
// its own writable layer (upper) on top of a chain of frozen layers (lowers), mounted as an
// overlay. A snapshot is a chain of frozen layers and never changes; a clone starts as an empty
// upper on top of its snapshot's chain. A layer is removed once nothing refers to it.
//
// Every change is written to <dir>/state.json (the inspectable state, see State). Folders it no
// longer needs go to <dir>/trash and are removed outside the lock (trash.go).
type Pool struct {
	mu  sync.Mutex
	dir string
	st  State
	now func() time.Time
	// mounted reports whether a dataset's mountpoint is mounted (overridden in tests).
	mounted func(path string) bool
	// remove deletes a folder tree from the trash (os.RemoveAll; tests pass a slow one).
	remove func(path string) error
	// wake (capacity 1) tells the sweeper to empty the trash; closed by Close, which then waits
	// for swept. closed is guarded by mu.
	wake   chan struct{}
	swept  chan struct{}
	closed bool
}

// State is what <dir>/state.json holds.
type State struct {
	Datasets  map[string]*Dataset  `json:"datasets"`
	Snapshots map[string]*Snapshot `json:"snapshots"`
	// PendingDestroys lists snapshots whose destroy was asked for but refused by ZFS (dependent
	// clones); retried in the background until it succeeds.
	PendingDestroys []string `json:"pendingDestroys"`
	// Publishes maps a kubelet target path to the dataset mounted there.
	Publishes map[string]string `json:"publishes"`
	// Layers lists every layer folder with the number of datasets and snapshots referring to it.
	Layers    map[string]int `json:"layers"`
	NextLayer int            `json:"nextLayer"`
	// Ops records the latest operations with their duration (newest last, at most 200).
	Ops []Op `json:"ops"`
}

// Dataset is a ZFS filesystem (a volume).
type Dataset struct {
	Name     string `json:"name"`
	Pool     string `json:"pool"`
	Node     string `json:"node"`
	Capacity int64  `json:"capacity"`
	// Origin is the snapshot this dataset was cloned from (ZFS "origin" property), or "".
	Origin  string    `json:"origin,omitempty"`
	Upper   string    `json:"upper"`
	Lowers  []string  `json:"lowers"`
	Created time.Time `json:"created"`
}

// Snapshot is a ZFS snapshot "<dataset>@<name>".
type Snapshot struct {
	Name    string `json:"name"`
	Dataset string `json:"dataset"`
	Pool    string `json:"pool"`
	Node    string `json:"node"`
	// Capacity is the dataset's capacity when the snapshot was taken (the restore size).
	Capacity int64     `json:"capacity"`
	Layers   []string  `json:"layers"`
	Created  time.Time `json:"created"`
}

// Op is one recorded operation.
type Op struct {
	Op         string  `json:"op"`
	Target     string  `json:"target"`
	DurationMs float64 `json:"durationMs"`
	Error      string  `json:"error,omitempty"`
}

var (
	errNotFound        = errors.New("dataset does not exist")
	errExists          = errors.New("dataset already exists")
	errDependentClones = errors.New("snapshot has dependent clones")
	errBusy            = errors.New("dataset is busy")
)

// OpenPool loads the pool state from dir (or starts an empty one) and starts the sweeper, which
// first removes whatever a crash left in the trash.
func OpenPool(dir string) (*Pool, error) { return openPool(dir, os.RemoveAll) }

// openPool is OpenPool with the function that removes a folder from the trash (tests slow it down).
func openPool(dir string, remove func(path string) error) (*Pool, error) {
	p := &Pool{dir: dir, now: time.Now, mounted: isMountPoint, remove: remove,
		wake: make(chan struct{}, 1), swept: make(chan struct{})}
	for _, sub := range []string{"layers", "work", "mnt", "empty", "trash"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	b, err := os.ReadFile(p.statePath())
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(b, &p.st); err != nil {
			return nil, fmt.Errorf("%s: %w", p.statePath(), err)
		}
	}
	if p.st.Datasets == nil {
		p.st.Datasets = map[string]*Dataset{}
	}
	if p.st.Snapshots == nil {
		p.st.Snapshots = map[string]*Snapshot{}
	}
	if p.st.Publishes == nil {
		p.st.Publishes = map[string]string{}
	}
	if p.st.PendingDestroys == nil {
		p.st.PendingDestroys = []string{}
	}
	if err := p.trashOrphans(); err != nil {
		return nil, err
	}
	p.wakeSweeper()
	go p.sweep()
	return p, nil
}

func (p *Pool) statePath() string           { return filepath.Join(p.dir, "state.json") }
func (p *Pool) layerDir(id string) string   { return filepath.Join(p.dir, "layers", id) }
func (p *Pool) workDir(ds string) string    { return filepath.Join(p.dir, "work", ds) }
func (p *Pool) mountpoint(ds string) string { return filepath.Join(p.dir, "mnt", ds) }
func (p *Pool) emptyLayer() string          { return filepath.Join(p.dir, "empty") }
func snapshotName(ds, snap string) string   { return ds + "@" + snap }
func splitSnapshot(full string) (ds, snap string) {
	ds, snap, _ = strings.Cut(full, "@")
	return ds, snap
}

// timed runs f under the pool lock, records it in Ops and saves the state.
func (p *Pool) timed(op, target string, f func() error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := time.Now()
	err := f()
	rec := Op{Op: op, Target: target, DurationMs: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		rec.Error = err.Error()
	}
	p.st.Ops = append(p.st.Ops, rec)
	if n := len(p.st.Ops); n > 200 {
		p.st.Ops = p.st.Ops[n-200:]
	}
	if serr := p.save(); serr != nil && err == nil {
		err = serr
	}
	return err
}

// save writes the state, then moves the layers nothing refers to any more into the trash (in this
// order: after a crash in between, OpenPool finds them unreferenced and trashes them).
func (p *Pool) save() error {
	dead := p.countLayers()
	defer func() {
		for _, id := range dead {
			p.discard(p.layerDir(id))
		}
	}()
	b, err := json.MarshalIndent(&p.st, "", "  ")
	if err != nil {
		return err
	}
	tmp := p.statePath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p.statePath())
}

// countLayers recomputes the layer reference counts and returns the layers no longer referred to.
func (p *Pool) countLayers() []string {
	refs := p.layerRefs()
	var dead []string
	for id := range p.st.Layers {
		if refs[id] == 0 {
			dead = append(dead, id)
		}
	}
	sort.Strings(dead)
	p.st.Layers = refs
	return dead
}

// layerRefs counts the datasets and snapshots referring to each layer.
func (p *Pool) layerRefs() map[string]int {
	refs := map[string]int{}
	for _, d := range p.st.Datasets {
		refs[d.Upper]++
		for _, l := range d.Lowers {
			refs[l]++
		}
	}
	for _, s := range p.st.Snapshots {
		for _, l := range s.Layers {
			refs[l]++
		}
	}
	return refs
}

func (p *Pool) newLayer() (string, error) {
	p.st.NextLayer++
	id := fmt.Sprintf("l%d", p.st.NextLayer)
	if err := os.Mkdir(p.layerDir(id), 0o777); err != nil {
		return "", err
	}
	// A volume is writable by any pod user, as on a fresh ZFS dataset with mode 0777 (csi-hostpath does the same).
	return id, os.Chmod(p.layerDir(id), 0o777)
}

// Snapshot returns a copy of the state (for the debug file readers and tests).
func (p *Pool) Snapshot() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, _ := json.Marshal(&p.st)
	var s State
	_ = json.Unmarshal(b, &s)
	return s
}

// Dataset returns a copy of a dataset, or nil.
func (p *Pool) Dataset(name string) *Dataset {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := p.st.Datasets[name]; d != nil {
		c := *d
		return &c
	}
	return nil
}

// SnapshotOf returns a copy of a snapshot, or nil.
func (p *Pool) SnapshotOf(full string) *Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.st.Snapshots[full]; s != nil {
		c := *s
		return &c
	}
	return nil
}

// Create is "zfs create": a new empty dataset.
func (p *Pool) Create(name, pool, node string, capacity int64) error {
	return p.timed("create", name, func() error {
		if p.st.Datasets[name] != nil {
			return errExists
		}
		upper, err := p.newLayer()
		if err != nil {
			return err
		}
		p.st.Datasets[name] = &Dataset{Name: name, Pool: pool, Node: node, Capacity: capacity, Upper: upper, Lowers: []string{}, Created: p.now()}
		return nil
	})
}

// TakeSnapshot is "zfs snapshot <dataset>@<snap>". O(1) when the dataset is not mounted (its
// upper layer is frozen as is and the dataset gets a new empty one); while it is mounted its
// upper layer (only what was written since its last snapshot or clone) is copied.
func (p *Pool) TakeSnapshot(ds, snap string) error {
	full := snapshotName(ds, snap)
	return p.timed("snapshot", full, func() error {
		d := p.st.Datasets[ds]
		if d == nil {
			return errNotFound
		}
		if p.st.Snapshots[full] != nil {
			return errExists
		}
		frozen, err := p.freeze(d)
		if err != nil {
			return err
		}
		p.st.Snapshots[full] = &Snapshot{Name: full, Dataset: ds, Pool: d.Pool, Node: d.Node, Capacity: d.Capacity, Layers: frozen, Created: p.now()}
		return nil
	})
}

// freeze returns a frozen layer chain holding the dataset's current content.
func (p *Pool) freeze(d *Dataset) ([]string, error) {
	empty, err := dirEmpty(p.layerDir(d.Upper))
	if err != nil {
		return nil, err
	}
	if empty {
		return append([]string{}, d.Lowers...), nil
	}
	if p.inUse(d.Name) {
		cp, err := p.newLayer()
		if err != nil {
			return nil, err
		}
		if err := copyTree(p.layerDir(d.Upper), p.layerDir(cp)); err != nil {
			p.discard(p.layerDir(cp))
			return nil, err
		}
		return append([]string{cp}, d.Lowers...), nil
	}
	upper, err := p.newLayer()
	if err != nil {
		return nil, err
	}
	// The old upper becomes a lower layer; overlay wants a clean work dir for the new upper.
	p.discard(p.workDir(d.Name))
	d.Lowers = append([]string{d.Upper}, d.Lowers...)
	d.Upper = upper
	return append([]string{}, d.Lowers...), nil
}

// inUse: the dataset is published to a pod or its mountpoint is mounted.
func (p *Pool) inUse(ds string) bool {
	for _, v := range p.st.Publishes {
		if v == ds {
			return true
		}
	}
	return p.mounted(p.mountpoint(ds))
}

// Clone is "zfs clone <snapshot> <dataset>": O(1), the new dataset shares the snapshot's layers.
func (p *Pool) Clone(full, name string) error {
	return p.timed("clone", name, func() error {
		s := p.st.Snapshots[full]
		if s == nil {
			return fmt.Errorf("%s: %w", full, errNotFound)
		}
		if p.st.Datasets[name] != nil {
			return errExists
		}
		upper, err := p.newLayer()
		if err != nil {
			return err
		}
		p.st.Datasets[name] = &Dataset{Name: name, Pool: s.Pool, Node: s.Node, Capacity: s.Capacity, Origin: full,
			Upper: upper, Lowers: append([]string{}, s.Layers...), Created: p.now()}
		return nil
	})
}

// clonesOf lists the datasets whose origin is the snapshot.
func (p *Pool) clonesOf(full string) []string {
	var out []string
	for _, d := range p.st.Datasets {
		if d.Origin == full {
			out = append(out, d.Name)
		}
	}
	sort.Strings(out)
	return out
}

// DestroySnapshot is "zfs destroy <dataset>@<snap>": refused while a clone depends on it.
func (p *Pool) DestroySnapshot(full string) error {
	return p.timed("destroy-snapshot", full, func() error { return p.destroySnapshot(full) })
}

func (p *Pool) destroySnapshot(full string) error {
	if p.st.Snapshots[full] == nil {
		return fmt.Errorf("%s: %w", full, errNotFound)
	}
	if c := p.clonesOf(full); len(c) > 0 {
		return fmt.Errorf("cannot destroy %s: %w: %s", full, errDependentClones, strings.Join(c, ", "))
	}
	delete(p.st.Snapshots, full)
	p.dropPending(full)
	return nil
}

// DestroyRecursive is "zfs destroy -r <dataset>": the dataset and all its snapshots, refused
// (nothing destroyed) when one of those snapshots has a clone or the dataset is mounted.
func (p *Pool) DestroyRecursive(ds string) error {
	return p.timed("destroy-r", ds, func() error {
		if p.st.Datasets[ds] == nil {
			return errNotFound
		}
		snaps := p.snapshotsOf(ds)
		for _, s := range snaps {
			if c := p.clonesOf(s); len(c) > 0 {
				return fmt.Errorf("cannot destroy %s: %w (%s has %s)", ds, errDependentClones, s, strings.Join(c, ", "))
			}
		}
		if p.inUse(ds) {
			return fmt.Errorf("cannot destroy %s: %w (mounted)", ds, errBusy)
		}
		for _, s := range snaps {
			delete(p.st.Snapshots, s)
			p.dropPending(s)
		}
		delete(p.st.Datasets, ds)
		p.discard(p.workDir(ds))
		_ = os.Remove(p.mountpoint(ds))
		p.retryPending()
		return nil
	})
}

func (p *Pool) snapshotsOf(ds string) []string {
	var out []string
	for name, s := range p.st.Snapshots {
		if s.Dataset == ds {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// MarkForDestroy asks for a snapshot's destroy the way zfs-localpv's node agent does: at once when
// possible, otherwise the snapshot stays (with its data) and the destroy is retried later.
func (p *Pool) MarkForDestroy(full string) error {
	return p.timed("destroy-snapshot-async", full, func() error {
		if p.st.Snapshots[full] == nil {
			return nil
		}
		err := p.destroySnapshot(full)
		if errors.Is(err, errDependentClones) {
			if !contains(p.st.PendingDestroys, full) {
				p.st.PendingDestroys = append(p.st.PendingDestroys, full)
			}
			return nil
		}
		return err
	})
}

// RetryPending retries every pending snapshot destroy (the background loop calls it); recorded
// as an operation only when a destroy succeeded.
func (p *Pool) RetryPending() {
	p.mu.Lock()
	before := len(p.st.PendingDestroys)
	p.mu.Unlock()
	if before == 0 {
		return
	}
	_ = p.timed("retry-pending", fmt.Sprint(before), func() error { p.retryPending(); return nil })
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.st.Ops); n > 0 && p.st.Ops[n-1].Op == "retry-pending" && len(p.st.PendingDestroys) == before {
		p.st.Ops = p.st.Ops[:n-1]
	}
}

func (p *Pool) retryPending() {
	for _, full := range append([]string{}, p.st.PendingDestroys...) {
		if err := p.destroySnapshot(full); errors.Is(err, errNotFound) {
			p.dropPending(full)
		}
	}
}

func (p *Pool) dropPending(full string) {
	out := p.st.PendingDestroys[:0]
	for _, f := range p.st.PendingDestroys {
		if f != full {
			out = append(out, f)
		}
	}
	p.st.PendingDestroys = out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func dirEmpty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// copyTree copies a layer with everything overlay keeps in it (whiteouts are device nodes, opaque
// folders are xattrs); reflinks where the file system has them.
func copyTree(from, to string) error {
	out, err := exec.Command("cp", "-a", "--reflink=auto", from+"/.", to+"/").CombinedOutput()
	if err != nil {
		return fmt.Errorf("copy %s: %v: %s", from, err, strings.TrimSpace(string(out)))
	}
	return nil
}
