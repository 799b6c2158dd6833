using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using RingKV.Core.Random;
using RingKV.Storage;

namespace RingKV.Testing.Faults;

/// <summary>An in-memory file system that can lose what was not made durable, like a machine losing power.</summary>
/// <remarks>
/// Thread-safe (one lock). Durability follows POSIX as the engine relies on it, and no further:
/// (1) a file's bytes survive a crash up to its last <see cref="IWritableFile.Sync"/>, plus possibly a part of what
/// followed (possibly torn);
/// (2) <see cref="Create(string)"/> on an existing file truncates that file in place, as <see cref="FileMode.Create"/> does: its
/// old bytes are gone at once, even from names that survive a crash, and only a sync makes the new ones durable;
/// (3) a name created, renamed or deleted is durable once its directory was synced with
/// <see cref="IFileSystem.SyncDirectory"/>; before that, a crash may keep or undo each such change on its own, in any
/// combination (a file system need not write directory entries in the order they were made).
/// After <see cref="Crash(SplitMix64)"/>, every handle and <see cref="Session"/> opened before it fails with
/// <see cref="IOException"/>, so an abandoned engine cannot write into the recovered state.
/// <see cref="BeforeOperation"/> lets a test crash at an exact operation.
/// </remarks>
public sealed class CrashableFileSystem : IFileSystem
{
    private readonly Lock _lock = new();

    // Guarded by _lock: the names the running process sees, the names that survive a crash, and the generation.
    private readonly Dictionary<string, Node> _visible = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Node> _durable = new(StringComparer.Ordinal);
    private readonly HashSet<string> _directories = new(StringComparer.Ordinal);
    private int _generation;

    /// <summary>Crashes performed.</summary>
    public int Crashes => _generation;

    /// <summary>
    /// Called on the calling thread before each operation that changes files or names (outside the lock), with the
    /// operation's kind, path and, for an append, its bytes. A hook that calls <see cref="Crash(SplitMix64)"/> or
    /// <see cref="Crash(Func{string, bool})"/> crashes the file system before the operation takes effect: the
    /// operation then fails, as does every later one through an earlier session or handle.
    /// </summary>
    public FileOperationHook? BeforeOperation { get; set; }

    /// <summary>Paths whose name change (creation, rename or deletion) is not durable yet: a crash may keep or undo each.</summary>
    public IReadOnlyList<string> PendingNames
    {
        get
        {
            lock (_lock)
            {
                return PendingNamesLocked();
            }
        }
    }

    /// <summary>
    /// A view for one engine instance: after the next crash every call through it fails, so the abandoned instance's
    /// background threads cannot create, rename or delete files in the recovered state.
    /// </summary>
    public IFileSystem Session()
    {
        lock (_lock)
        {
            return new SessionView(this, _generation);
        }
    }

    public IWritableFile Create(string path) => Create(path, null);

    public IRandomAccessFile OpenRead(string path) => OpenRead(path, null);

    public bool Exists(string path) => Exists(path, null);

    public void Delete(string path) => Delete(path, null);

    public void Rename(string from, string to) => Rename(from, to, null);

    public IReadOnlyList<string> List(string directory) => List(directory, null);

    public void CreateDirectory(string path) => CreateDirectory(path, null);

    public void SyncDirectory(string path) => SyncDirectory(path, null);

    public void Truncate(string path, long length) => Truncate(path, length, null);

    public IDisposable Lock(string path) => new Handle();

    /// <summary>
    /// Loses power at random: keeps each file's synced prefix plus a random part of the bytes written after it
    /// (possibly with its last byte flipped, a torn write), keeps or undoes each pending name change at random, and
    /// invalidates every open handle.
    /// </summary>
    public void Crash(SplitMix64 rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        lock (_lock)
        {
            CrashLocked(_ => rng.Next(2) == 0, node =>
            {
                var unsynced = node.Data.Count - node.Synced;
                var survive = node.Synced + (unsynced > 0 ? rng.Next(unsynced + 1) : 0);
                return (survive, survive > node.Synced && rng.Next(4) == 0);
            });
        }
    }

    /// <summary>
    /// Loses power the same way every time: every byte not synced is lost, and each pending name change (see
    /// <see cref="PendingNames"/>) survives exactly when <paramref name="keepNameChange"/> says so (none when null).
    /// </summary>
    public void Crash(Func<string, bool>? keepNameChange = null)
    {
        lock (_lock)
        {
            CrashLocked(keepNameChange ?? (_ => false), node => (node.Synced, false));
        }
    }

    /// <summary>The durable state becomes the visible one. Requires: _lock.</summary>
    private void CrashLocked(Func<string, bool> keepNameChange, Func<Node, (int Survive, bool Torn)> contents)
    {
        _generation++;
        var names = new Dictionary<string, Node>(_durable, StringComparer.Ordinal);
        foreach (var name in PendingNamesLocked())
        {
            if (!keepNameChange(name))
            {
                continue;
            }

            if (_visible.TryGetValue(name, out var node))
            {
                names[name] = node;
            }
            else
            {
                names.Remove(name);
            }
        }

        _visible.Clear();
        _durable.Clear();
        var kept = new Dictionary<Node, Node>();
        foreach (var (name, node) in names)
        {
            if (!kept.TryGetValue(node, out var copy))
            {
                var (survive, torn) = contents(node);
                copy = new Node();
                copy.Data.AddRange(node.Data.GetRange(0, survive));
                if (torn)
                {
                    copy.Data[^1] ^= 0x5A; // the last unsynced byte reached the disk damaged
                }

                copy.Synced = copy.Data.Count;
                kept[node] = copy;
            }

            _visible[name] = copy;
            _durable[name] = copy;
        }
    }

    private List<string> PendingNamesLocked()
    {
        var pending = new List<string>();
        foreach (var (name, node) in _visible)
        {
            if (!_durable.TryGetValue(name, out var durable) || durable != node)
            {
                pending.Add(name);
            }
        }

        foreach (var name in _durable.Keys)
        {
            if (!_visible.ContainsKey(name))
            {
                pending.Add(name);
            }
        }

        pending.Sort(StringComparer.Ordinal); // a stable order, so a sweep over subsets replays
        return pending;
    }

    private void Before(FileOperationKind kind, string path, ReadOnlySpan<byte> data = default, string? destination = null) =>
        BeforeOperation?.Invoke(new FileOperation(kind, path, destination, data));

    /// <summary>Fails when the caller's session or handle is older than the last crash. Requires: _lock.</summary>
    private void Check(int? generation, string path)
    {
        if (generation is { } g && g != _generation)
        {
            throw new IOException($"{path}: the file system crashed after this handle was opened");
        }
    }

    private Writer Create(string path, int? session)
    {
        Before(FileOperationKind.Create, path);
        lock (_lock)
        {
            Check(session, path);
            if (_visible.TryGetValue(path, out var node))
            {
                // Truncated in place, as FileMode.Create does: the one inode loses its bytes, under every name it has.
                node.Data.Clear();
                node.Synced = 0;
            }
            else
            {
                node = new Node();
                _visible[path] = node;
            }

            return new Writer(this, path, node, _generation);
        }
    }

    private Reader OpenRead(string path, int? session)
    {
        lock (_lock)
        {
            Check(session, path);
            if (!_visible.TryGetValue(path, out var node))
            {
                throw new FileNotFoundException($"no such file: {path}", path);
            }

            return new Reader(this, path, node, _generation);
        }
    }

    private bool Exists(string path, int? session)
    {
        lock (_lock)
        {
            Check(session, path);
            return _visible.ContainsKey(path);
        }
    }

    private void Delete(string path, int? session)
    {
        Before(FileOperationKind.Delete, path);
        lock (_lock)
        {
            Check(session, path);
            _visible.Remove(path);
        }
    }

    private void Rename(string from, string to, int? session)
    {
        Before(FileOperationKind.Rename, from, destination: to);
        lock (_lock)
        {
            Check(session, from);
            if (!_visible.Remove(from, out var node))
            {
                throw new FileNotFoundException($"no such file: {from}", from);
            }

            _visible[to] = node;
        }
    }

    private List<string> List(string directory, int? session)
    {
        lock (_lock)
        {
            Check(session, directory);
            var names = new List<string>();
            foreach (var path in _visible.Keys)
            {
                if (Path.GetDirectoryName(path) == directory.TrimEnd('/'))
                {
                    names.Add(Path.GetFileName(path));
                }
            }

            return names;
        }
    }

    private void CreateDirectory(string path, int? session)
    {
        lock (_lock)
        {
            Check(session, path);
            _directories.Add(path.TrimEnd('/'));
        }
    }

    private void SyncDirectory(string path, int? session)
    {
        Before(FileOperationKind.SyncDirectory, path);
        lock (_lock)
        {
            Check(session, path);

            // The directory's entries as they are now become the ones that survive.
            var directory = path.TrimEnd('/');
            foreach (var name in new List<string>(_durable.Keys))
            {
                if (Path.GetDirectoryName(name) == directory && !_visible.ContainsKey(name))
                {
                    _durable.Remove(name);
                }
            }

            foreach (var (name, node) in _visible)
            {
                if (Path.GetDirectoryName(name) == directory)
                {
                    _durable[name] = node;
                }
            }
        }
    }

    private void Truncate(string path, long length, int? session)
    {
        Before(FileOperationKind.Truncate, path);
        lock (_lock)
        {
            Check(session, path);
            var node = _visible[path];
            node.Data.RemoveRange((int)length, node.Data.Count - (int)length);
            node.Synced = node.Data.Count; // IFileSystem.Truncate syncs
        }
    }

    private sealed class SessionView(CrashableFileSystem fs, int generation) : IFileSystem
    {
        public IWritableFile Create(string path) => fs.Create(path, generation);

        public IRandomAccessFile OpenRead(string path) => fs.OpenRead(path, generation);

        public bool Exists(string path) => fs.Exists(path, generation);

        public void Delete(string path) => fs.Delete(path, generation);

        public void Rename(string from, string to) => fs.Rename(from, to, generation);

        public IReadOnlyList<string> List(string directory) => fs.List(directory, generation);

        public void CreateDirectory(string path) => fs.CreateDirectory(path, generation);

        public void SyncDirectory(string path) => fs.SyncDirectory(path, generation);

        public void Truncate(string path, long length) => fs.Truncate(path, length, generation);

        public IDisposable Lock(string path) => fs.Lock(path);
    }

    private sealed class Node
    {
        public List<byte> Data { get; } = [];

        public int Synced { get; set; }
    }

    private sealed class Handle : IDisposable
    {
        public void Dispose()
        {
        }
    }

    private sealed class Writer(CrashableFileSystem fs, string path, Node node, int generation) : IWritableFile
    {
        public string Path { get; } = path;

        public long Length
        {
            get
            {
                lock (fs._lock)
                {
                    return node.Data.Count;
                }
            }
        }

        public void Append(ReadOnlySpan<byte> data)
        {
            fs.Before(FileOperationKind.Append, Path, data);
            lock (fs._lock)
            {
                fs.Check(generation, Path);
                foreach (var b in data)
                {
                    node.Data.Add(b);
                }
            }
        }

        public void Flush()
        {
            lock (fs._lock)
            {
                fs.Check(generation, Path);
            }
        }

        public void Sync()
        {
            fs.Before(FileOperationKind.Sync, Path);
            lock (fs._lock)
            {
                fs.Check(generation, Path);
                node.Synced = node.Data.Count;
            }
        }

        public void SyncFlushed() => Sync(); // nothing is buffered here: every append is already "flushed"

        public void Dispose()
        {
        }
    }

    private sealed class Reader(CrashableFileSystem fs, string path, Node node, int generation) : IRandomAccessFile
    {
        public string Path { get; } = path;

        public long Length { get; } = node.Data.Count;

        public int Read(long offset, Span<byte> buffer)
        {
            lock (fs._lock)
            {
                fs.Check(generation, Path);
                var available = (int)Math.Max(0, Math.Min(buffer.Length, Math.Min(Length, node.Data.Count) - offset));
                for (var i = 0; i < available; i++)
                {
                    buffer[i] = node.Data[(int)offset + i];
                }

                return available;
            }
        }

        public void Dispose()
        {
        }
    }
}
