using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace RingKV.Core.Tests.Layering;

/// <summary>Which part of RingKV may name which, and a scan of sources and project files for references that point the wrong way.</summary>
/// <remarks>
/// A reference is a namespace named in code: a <c>using</c> (plain, static, alias or global), a fully qualified name
/// (<c>RingKV.Storage.Log.SyncMode</c>) or one qualified from inside RingKV's namespaces (<c>Storage.Log.SyncMode</c>,
/// <c>Versions.Version</c>), outside comments and literals. The scan is textual: a name a file reaches without naming its
/// namespace (a type of a parent namespace) is not seen, except the engine itself, which the leaves of Storage must
/// not name at all.
/// </remarks>
internal static class LayeringRules
{
    /// <summary>The projects under src/ (without the RingKV. prefix) and the projects each may reference.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Projects = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["Core"] = [],
        ["Storage"] = ["Core"],
        ["Net"] = ["Core"],
        ["Cluster"] = ["Core"],
        ["Server"] = ["Core", "Storage", "Net", "Cluster"],
        ["Cli"] = ["Core", "Storage", "Net", "Cluster", "Server"],
    };

    /// <summary>
    /// Folders of Storage that never reach the engine: the components (Log, Memtables, Tables, Filters, Cache,
    /// Compression) and the vocabulary they share (Keys, Stats).
    /// </summary>
    public static readonly string[] StorageLeaves = ["Log", "Memtables", "Tables", "Filters", "Cache", "Compression", "Keys", "Stats"];

    /// <summary>What the leaves must not name: the engine's folders (versions and the manifest, compaction, the commit pipeline) and the engine type itself.</summary>
    public static readonly string[] StorageEngineParts = ["Versions", "Compaction", "Commit"];

    private const string EngineType = "StorageEngine";

    private static readonly Regex FullName = new(@"(?<![\w.])(?:global::)?RingKV\.([A-Za-z]\w*)(?:\.([A-Za-z]\w*))?", RegexOptions.CultureInvariant);
    private static readonly Regex ProjectRelative = new(@"(?<![\w.])(Core|Storage|Net|Cluster|Server|Cli)\.([A-Z]\w*)", RegexOptions.CultureInvariant);
    private static readonly Regex StorageRelative = new(@"(?<![\w.])(" + string.Join('|', StorageLeaves.Concat(StorageEngineParts)) + @")\.([A-Z]\w*)", RegexOptions.CultureInvariant);
    private static readonly Regex EngineName = new(@"(?<![\w.])" + EngineType + @"\b", RegexOptions.CultureInvariant);
    private static readonly Regex ProjectReference = new(@"<ProjectReference\s+Include=""[^""]*?RingKV\.(\w+)\.csproj""", RegexOptions.CultureInvariant);

    /// <summary>Every wrong-way reference in <paramref name="files"/> (paths like <c>src/RingKV.Storage/Cache/BlockCache.cs</c>), one line each.</summary>
    public static List<string> Check(IEnumerable<SourceFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var violations = new List<string>();
        var folderEdges = new Dictionary<(string From, string To), string>();
        var unknownFolders = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var parts = file.Path.Split('/');
            if (parts.Length < 3 || parts[0] != "src" || !parts[1].StartsWith("RingKV.", StringComparison.Ordinal))
            {
                continue;
            }

            var project = parts[1]["RingKV.".Length..];
            if (!Projects.TryGetValue(project, out var allowed))
            {
                violations.Add($"{file.Path}: project RingKV.{project} is not in the layering table (LayeringRules.Projects)");
                continue;
            }

            if (file.Path.EndsWith(".csproj", StringComparison.Ordinal))
            {
                CheckProjectFile(file, project, allowed, violations);
                continue;
            }

            var folder = project == "Storage" && parts.Length > 3 ? parts[2] : null;
            if (folder is not null && !IsStorageFolder(folder) && unknownFolders.Add(folder))
            {
                violations.Add($"{file.Path}: Storage/{folder} is neither a leaf nor a part of the engine (LayeringRules.StorageLeaves, StorageEngineParts)");
            }

            var lines = CodeText.Strip(file.Text).Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i];
                var where = $"{file.Path}:{i + 1}";
                foreach (var (target, sub) in References(line, project))
                {
                    if (target != project && !allowed.Contains(target))
                    {
                        violations.Add($"{where}: {project} -> {(Projects.ContainsKey(target) ? target : $"RingKV.{target} (not in the layering table)")}: {line.Trim()}");
                    }

                    if (folder is not null && target == "Storage" && sub is not null && sub != folder && IsStorageFolder(sub))
                    {
                        folderEdges.TryAdd((folder, sub), $"{where}: {line.Trim()}");
                        if (StorageLeaves.Contains(folder) && StorageEngineParts.Contains(sub))
                        {
                            violations.Add($"{where}: Storage/{folder} -> Storage/{sub} (the leaves never reach the engine): {line.Trim()}");
                        }
                    }
                }

                if (folder is not null && StorageLeaves.Contains(folder) && EngineName.IsMatch(line))
                {
                    violations.Add($"{where}: Storage/{folder} -> {EngineType} (the leaves never reach the engine): {line.Trim()}");
                }
            }
        }

        foreach (var cycle in Cycles(folderEdges.Keys))
        {
            var steps = cycle.Zip(cycle.Skip(1).Append(cycle[0]), (from, to) => $"  Storage/{from} -> Storage/{to} at {folderEdges[(from, to)]}");
            violations.Add($"folders of Storage reference each other in a cycle ({string.Join(" -> ", cycle.Append(cycle[0]))}):\n{string.Join('\n', steps)}");
        }

        return violations;

    }

    /// <summary>The (project, first namespace part below it) pairs one line of code of <paramref name="project"/> names.</summary>
    private static IEnumerable<(string Project, string? Sub)> References(string line, string project)
    {
        foreach (Match m in FullName.Matches(line))
        {
            yield return (m.Groups[1].Value, m.Groups[2].Success ? m.Groups[2].Value : null);
        }

        foreach (Match m in ProjectRelative.Matches(line))
        {
            yield return (m.Groups[1].Value, m.Groups[2].Value);
        }

        if (project == "Storage")
        {
            // Inside RingKV.Storage, Versions.Version names RingKV.Storage.Versions.Version.
            foreach (Match m in StorageRelative.Matches(line))
            {
                yield return ("Storage", m.Groups[1].Value);
            }
        }
    }

    private static bool IsStorageFolder(string name) => StorageLeaves.Contains(name) || StorageEngineParts.Contains(name);

    private static void CheckProjectFile(SourceFile file, string project, string[] allowed, List<string> violations)
    {
        var lines = file.Text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            foreach (Match m in ProjectReference.Matches(lines[i]))
            {
                var target = m.Groups[1].Value;
                if (target != project && !allowed.Contains(target))
                {
                    violations.Add($"{file.Path}:{i + 1}: {project} -> {target} (project reference): {lines[i].Trim()}");
                }
            }
        }
    }

    /// <summary>The cycles of a directed graph, one per strongly connected component of more than one node.</summary>
    private static List<List<string>> Cycles(IEnumerable<(string From, string To)> edges)
    {
        var next = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (from, to) in edges)
        {
            (next.TryGetValue(from, out var list) ? list : next[from] = []).Add(to);
        }

        var cycles = new List<List<string>>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var start in next.Keys.Order(StringComparer.Ordinal))
        {
            if (done.Contains(start))
            {
                continue;
            }

            // Depth-first from start; a path back to a node on the stack is a cycle.
            var path = new List<string>();
            var onPath = new HashSet<string>(StringComparer.Ordinal);
            Visit(start);

            void Visit(string node)
            {
                path.Add(node);
                onPath.Add(node);
                foreach (var to in next.TryGetValue(node, out var list) ? list.Order(StringComparer.Ordinal) : Enumerable.Empty<string>())
                {
                    if (onPath.Contains(to))
                    {
                        cycles.Add(path[path.IndexOf(to)..]);
                    }
                    else if (!done.Contains(to))
                    {
                        Visit(to);
                    }
                }

                onPath.Remove(node);
                path.RemoveAt(path.Count - 1);
                done.Add(node);
            }
        }

        return cycles;
    }
}
