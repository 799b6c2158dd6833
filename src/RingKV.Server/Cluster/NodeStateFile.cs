using System.Collections.Immutable;
using System.IO;
using System.Text.Json;
using RingKV.Core.Errors;

namespace RingKV.Server.Cluster;

/// <summary>What a cluster node must remember across restarts.</summary>
/// <param name="Generation">The last run's incarnation; the next run takes a higher one.</param>
/// <param name="Tokens">The node's tokens on the ring (empty before it first joined).</param>
/// <param name="ClockLeaseUnixMs">No stamp the node issued is at or above this: a restart starts its clock here.</param>
internal sealed record PersistedNodeState(ulong Generation, ImmutableArray<ulong> Tokens, long ClockLeaseUnixMs)
{
    public static PersistedNodeState None { get; } = new(0, [], 0);
}

/// <summary><c>cluster-state.json</c> in the data directory, replaced whole (write, fsync, rename, fsync the directory).</summary>
internal sealed class NodeStateFile(string directory)
{
    public string Path { get; } = System.IO.Path.Combine(directory, "cluster-state.json");

    public PersistedNodeState Load()
    {
        if (!File.Exists(Path))
        {
            return PersistedNodeState.None;
        }

        try
        {
            var file = JsonSerializer.Deserialize<StateJson>(File.ReadAllText(Path)) ?? throw new JsonException("empty");
            return new PersistedNodeState(file.Generation, [.. file.Tokens ?? []], file.ClockLeaseUnixMs);
        }
        catch (JsonException e)
        {
            throw new RingKVException(ErrorCode.Corruption, $"{Path} is damaged ({e.Message}); it holds the node's tokens and generation, so the node will not guess them: restore it or start with a new data directory");
        }
    }

    public void Save(PersistedNodeState state)
    {
        var temp = Path + ".tmp";
        var json = JsonSerializer.SerializeToUtf8Bytes(new StateJson { Generation = state.Generation, Tokens = [.. state.Tokens.IsDefault ? [] : state.Tokens], ClockLeaseUnixMs = state.ClockLeaseUnixMs });
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(json);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, Path, overwrite: true);
        Storage.PosixFileSystem.Instance.SyncDirectory(System.IO.Path.GetDirectoryName(Path)!);
    }

    private sealed class StateJson
    {
        public ulong Generation { get; set; }

        public ulong[]? Tokens { get; set; }

        public long ClockLeaseUnixMs { get; set; }
    }
}
