using System;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;

namespace RingKV.Cli.Scaling;

/// <summary>
/// The autoscaler's last decision, as <c>ringkv autoscale</c> writes it to DIR/autoscale.json after every decision and
/// <c>ringkv status</c> shows it: the nodes cannot (the autoscaler is a process of its own, so INFO knows nothing of it).
/// </summary>
/// <remarks>
/// Format: <c>{ "time": "2030-01-01T00:00:05+00:00", "decision": "ScaleOut 1", "reason": "...", "nodes": 3,
/// "inFlight": "node4 JOINING" | null, "dryRun": false, "pid": 1234 }</c>. Written whole (a temp file renamed over),
/// so a reader never sees half of one.
/// </remarks>
/// <param name="Time">When it was decided.</param>
/// <param name="Decision"><c>Hold</c>, <c>ScaleOut k</c>, <c>ScaleIn ids</c>, or <c>Error</c> when the load could not be read.</param>
/// <param name="Reason">Why, as logged.</param>
/// <param name="Nodes">NORMAL nodes at the decision.</param>
/// <param name="InFlight">The change in flight (a node JOINING or LEAVING, or the decision being applied), or null.</param>
/// <param name="DryRun">Whether the autoscaler only decides (<c>--dry-run</c>).</param>
/// <param name="Pid">The autoscaler's process id.</param>
internal sealed record AutoscaleStatus(DateTimeOffset Time, string Decision, string Reason, int Nodes, string? InFlight, bool DryRun, int Pid)
{
    /// <summary>The file's name in the cluster's directory.</summary>
    public const string FileName = "autoscale.json";

    /// <summary>Writes it to <paramref name="path"/>.</summary>
    public void Write(string path)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("time", Time);
            json.WriteString("decision", Decision);
            json.WriteString("reason", Reason);
            json.WriteNumber("nodes", Nodes);
            if (InFlight is null)
            {
                json.WriteNull("inFlight");
            }
            else
            {
                json.WriteString("inFlight", InFlight);
            }

            json.WriteBoolean("dryRun", DryRun);
            json.WriteNumber("pid", Pid);
            json.WriteEndObject();
        }

        File.WriteAllText(path + ".tmp", Encoding.UTF8.GetString(buffer.ToArray()) + "\n");
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Reads <paramref name="path"/>; null when there is none or it is not one of these.</summary>
    public static AutoscaleStatus? TryRead(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            return new AutoscaleStatus(
                root.GetProperty("time").GetDateTimeOffset(),
                root.GetProperty("decision").GetString() ?? "",
                root.GetProperty("reason").GetString() ?? "",
                root.GetProperty("nodes").GetInt32(),
                root.GetProperty("inFlight").GetString(),
                root.GetProperty("dryRun").GetBoolean(),
                root.GetProperty("pid").GetInt32());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException or InvalidOperationException or System.Collections.Generic.KeyNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// The line <c>ringkv status</c> prints: <c>Autoscaler: ScaleOut 1 at 2030-01-01 00:00:05Z (12 s ago), 3 nodes, in flight: none: reason</c>.
    /// </summary>
    public string Line(DateTimeOffset now)
    {
        var age = now - Time;
        var ago = age < TimeSpan.Zero ? "just now"
            : age < TimeSpan.FromMinutes(2) ? $"{age.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s ago"
            : age < TimeSpan.FromHours(2) ? $"{age.TotalMinutes.ToString("0", CultureInfo.InvariantCulture)} min ago"
            : $"{age.TotalHours.ToString("0", CultureInfo.InvariantCulture)} h ago";
        var dry = DryRun ? " (dry run)" : "";
        return $"Autoscaler: {Decision}{dry} at {Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}Z ({ago}), {Nodes} nodes, in flight: {InFlight ?? "none"}: {Reason}";
    }
}
