using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using RingKV.Storage.Fs;
using RingKV.Testing.Support;

namespace RingKV.Testing.Faults;

/// <summary>An in-memory file system that can lose what was not made durable, like a machine losing power.</summary>
/// <remarks>
/// Thread-safe (one lock). Durability follows POSIX as the engine relies on it: a file's bytes survive a crash
/// up to its last <see cref="IWritableFile.Sync"/> (plus a random part of what followed, possibly torn); a
/// name created, renamed or deleted survives only once its directory was synced with
/// <see cref="IFileSystem.SyncDirectory"/>. After <see cref="Crash"/>, every handle opened before it fails with
/// <see cref="IOException"/>, so an abandoned engine cannot write into the recovered state.
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
    /// A view for one engine instance: after the next <see cref="Crash"/> every call through it fails, so the
    /// abandoned instance's background threads cannot create, rename or delete files in the recovered state.
    /// </summary>
    public IFileSystem Session()
    {
        lock (_lock)
        {
            return new SessionView(this, _generation);
        }
    }

    public IWritableFile Create(string path)
    {
        lock (_lock)
        {
            var node = new Node();
            _visible[path] = node;
            return new Writer(this, path, node, _generation);
        }
    }

    public IRandomAccessFile OpenRead(string path)
    {
        lock (_lock)
        {
            if (!_visible.TryGetValue(path, out var node))
            {
                throw new FileNotFoundException($"no such file: {path}", path);
            }

            return new Reader(this, path, node, _generation);
        }
    }

    public bool Exists(string path)
    {
        lock (_lock)
        {
            return _visible.ContainsKey(path);
        }
    }

    public void Delete(string path)
    {
        lock (_lock)
        {
            _visible.Remove(path);
        }
    }

    public void Rename(string from, string to)
    {
        lock (_lock)
        {
            if (!_visible.Remove(from, out var node))
            {
                throw new FileNotFoundException($"no such file: {from}", from);
            }

            _visible[to] = node;
        }
    }

    public IReadOnlyList<string> List(string directory)
    {
        lock (_lock)
        {
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

    public void CreateDirectory(string path)
    {
        lock (_lock)
        {
            _directories.Add(path.TrimEnd('/'));
        }
    }

    public void SyncDirectory(string path)
    {
        lock (_lock)
        {
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

    public void Truncate(string path, long length)
    {
        lock (_lock)
        {
            var node = _visible[path];
            node.Data.RemoveRange((int)length, node.Data.Count - (int)length);
            node.Synced = Math.Min(node.Synced, node.Data.Count);
        }
    }

    public IDisposable Lock(string path) => new Handle();

    /// <summary>
    /// Loses power: keeps the durable names, each file cut to its synced prefix plus a random part of the bytes
    /// written after it (possibly with its last byte flipped, a torn write), and invalidates every open handle.
    /// </summary>
    public void Crash(TestRandom rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        lock (_lock)
        {
            _generation++;
            _visible.Clear();
            var kept = new Dictionary<Node, Node>();
            foreach (var (name, node) in _durable)
            {
                if (!kept.TryGetValue(node, out var copy))
                {
                    copy = new Node();
                    var unsynced = node.Data.Count - node.Synced;
                    var survive = node.Synced + (unsynced > 0 ? rng.Next(unsynced + 1) : 0);
                    copy.Data.AddRange(node.Data.GetRange(0, survive));
                    if (survive > node.Synced && rng.Next(4) == 0)
                    {
                        copy.Data[^1] ^= 0x5A; // torn: the last unsynced byte reached the disk damaged
                    }

                    copy.Synced = copy.Data.Count;
                    kept[node] = copy;
                }

                _visible[name] = copy;
            }

            _durable.Clear();
            foreach (var (name, node) in _visible)
            {
                _durable[name] = node;
            }
        }
    }

    private void Check(int generation, string path)
    {
        if (generation != _generation)
        {
            throw new IOException($"{path}: the file system crashed after this handle was opened");
        }
    }

    private sealed class SessionView(CrashableFileSystem fs, int generation) : IFileSystem
    {
        public IWritableFile Create(string path) => Guard(path, () => fs.Create(path));

        public IRandomAccessFile OpenRead(string path) => Guard(path, () => fs.OpenRead(path));

        public bool Exists(string path) => Guard(path, () => fs.Exists(path));

        public void Delete(string path) => Guard(path, () => { fs.Delete(path); return 0; });

        public void Rename(string from, string to) => Guard(from, () => { fs.Rename(from, to); return 0; });

        public IReadOnlyList<string> List(string directory) => Guard(directory, () => fs.List(directory));

        public void CreateDirectory(string path) => Guard(path, () => { fs.CreateDirectory(path); return 0; });

        public void SyncDirectory(string path) => Guard(path, () => { fs.SyncDirectory(path); return 0; });

        public void Truncate(string path, long length) => Guard(path, () => { fs.Truncate(path, length); return 0; });

        public IDisposable Lock(string path) => fs.Lock(path);

        private T Guard<T>(string path, Func<T> action)
        {
            // Checked and done under the file system's lock, so a crash cannot fall between the two.
            lock (fs._lock)
            {
                fs.Check(generation, path);
                return action();
            }
        }
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
