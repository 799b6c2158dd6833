using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;

namespace RingKV.Cli.Admin;

/// <summary>
/// What <c>ringkv cluster up</c> records in DIR/cluster.json so nodes added later (<c>ringkv autoscale --provider local</c>)
/// are planned like the first ones: the base port and the serve flags every node gets.
/// </summary>
/// <remarks>
/// Format: <c>{ "version": 1, "basePort": 7379, "serveOptions": ["--replication", "3", ...] }</c>. Written whole (a temp
/// file renamed over). Rejected alternative: reading the flags back from a running node's /proc/PID/cmdline, which is
/// Linux only and lost once that node is gone.
/// </remarks>
/// <param name="BasePort">node1's RESP port; node i listens on BasePort + i - 1.</param>
/// <param name="ServeOptions">The serve flags after each node's own (<see cref="LocalCluster.CommonServeOptions"/>).</param>
internal sealed record LocalClusterLayout(int BasePort, IReadOnlyList<string> ServeOptions)
{
    /// <summary>The file's name in the cluster's directory.</summary>
    public const string FileName = "cluster.json";

    private const int Version = 1;

    /// <summary>The password the nodes want (their <c>--password</c>), if any.</summary>
    public string? Password => LocalCluster.Password(ServeOptions);

    /// <summary>Writes DIR/cluster.json.</summary>
    public void Write(string directory)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("version", Version);
            json.WriteNumber("basePort", BasePort);
            json.WriteStartArray("serveOptions");
            foreach (var option in ServeOptions)
            {
                json.WriteStringValue(option);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        var path = Path.Combine(directory, FileName);
        File.WriteAllText(path + ".tmp", Encoding.UTF8.GetString(buffer.ToArray()) + "\n");
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Reads DIR/cluster.json.</summary>
    /// <exception cref="FormatException">It is missing or unreadable; the message says what to do.</exception>
    public static LocalClusterLayout Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{path} cannot be read ({e.Message}): it is written by ringkv cluster up; start the cluster with ringkv cluster up --data-dir {directory}");
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.GetProperty("version").GetInt32() != Version)
            {
                throw new FormatException($"{path} has version {root.GetProperty("version").GetInt32()}; this ringkv reads version {Version}");
            }

            var options = new List<string>();
            foreach (var option in root.GetProperty("serveOptions").EnumerateArray())
            {
                options.Add(option.GetString() ?? throw new FormatException($"{path}: serveOptions holds a null"));
            }

            return new LocalClusterLayout(root.GetProperty("basePort").GetInt32(), options);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"{path} is not what ringkv cluster up writes: {e.Message}");
        }
    }
}
