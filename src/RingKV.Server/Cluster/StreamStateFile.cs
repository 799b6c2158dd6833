using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using RingKV.Cluster;

namespace RingKV.Server.Cluster;

/// <summary>
/// <c>stream-state.json</c> in the data directory: where the node's streams stood (<see cref="StreamCheckpoint"/>),
/// replaced whole about once a second while it streams, so a restart resumes at the last saved page instead of starting
/// over. A damaged or missing file only costs the progress: the streams start again.
/// </summary>
internal sealed class StreamStateFile(string directory)
{
    public string Path { get; } = System.IO.Path.Combine(directory, "stream-state.json");

    /// <summary>The saved checkpoint, or null (none, or unreadable: logged by the caller as a restart from scratch).</summary>
    public StreamCheckpoint? Load(out string? problem)
    {
        problem = null;
        if (!File.Exists(Path))
        {
            return null;
        }

        try
        {
            var file = JsonSerializer.Deserialize<FileJson>(File.ReadAllText(Path));
            if (file?.Ranges is null)
            {
                return null;
            }

            return new StreamCheckpoint(file.Signature, [.. file.Ranges.Select(r => new StreamCheckpointRange(
                r.First, r.Last, [.. (r.Sources ?? []).Select(n => new NodeId(n))], r.SourceIndex, r.Cursor, r.Done))]);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or IOException)
        {
            problem = $"{Path} is unreadable ({e.Message}); streams start over";
            return null;
        }
    }

    public void Save(StreamCheckpoint checkpoint)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new FileJson
        {
            Signature = checkpoint.Signature,
            Ranges = [.. checkpoint.Ranges.Select(r => new RangeJson
            {
                First = r.First,
                Last = r.Last,
                Sources = [.. r.Sources.Select(n => n.Name)],
                SourceIndex = r.SourceIndex,
                Cursor = r.Cursor,
                Done = r.Done,
            })],
        });
        DurableFile.Replace(Path, json);
    }

    private sealed class FileJson
    {
        public ulong Signature { get; set; }

        public RangeJson[]? Ranges { get; set; }
    }

    private sealed class RangeJson
    {
        public ulong First { get; set; }

        public ulong Last { get; set; }

        public string[]? Sources { get; set; }

        public int SourceIndex { get; set; }

        public ulong Cursor { get; set; }

        public bool Done { get; set; }
    }
}
