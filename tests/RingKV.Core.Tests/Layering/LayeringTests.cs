using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit;

namespace RingKV.Core.Tests.Layering;

/// <summary>References between projects, and between the folders of Storage, point down (see STYLE.md, "the folders are the architecture").</summary>
public sealed class LayeringTests
{
    private static readonly Regex AssemblyName = new("<AssemblyName>([^<]+)</AssemblyName>", RegexOptions.CultureInvariant);
    private static readonly Regex InternalsVisibleTo = new(@"<InternalsVisibleTo\s+Include=""([^""]+)""", RegexOptions.CultureInvariant);

    [Fact]
    public void Sources_EveryReference_PointsDown()
    {
        var files = RepositorySources();
        Assert.True(files.Count(f => f.Path.EndsWith(".cs", StringComparison.Ordinal)) > 100, $"found only {files.Count} files under src/");

        var violations = LayeringRules.Check(files);

        Assert.True(violations.Count == 0, $"{violations.Count} references point the wrong way:\n{string.Join('\n', violations)}");
    }

    [Fact]
    public void Check_StorageUsesServer_NamesFileLineAndEdge()
    {
        var violations = LayeringRules.Check([Cs("src/RingKV.Storage/StorageOptions.cs", "using System;\nusing RingKV.Server.Store;\n")]);

        Assert.Equal("src/RingKV.Storage/StorageOptions.cs:2: Storage -> Server: using RingKV.Server.Store;", Assert.Single(violations));
    }

    [Theory]
    [InlineData("using RingKV.Storage.Versions;")]
    [InlineData("using RingKV.Storage.Compaction;")]
    [InlineData("using Version = RingKV.Storage.Versions.Version;")]
    [InlineData("global using RingKV.Storage.Commit;")]
    [InlineData("    private Versions.FileMeta? _file;")]
    [InlineData("    private global::RingKV.Storage.Commit.CommitPipeline? _p;")]
    [InlineData("    private StorageEngine? _engine;")]
    public void Check_LeafReachesTheEngine_Violation(string line)
    {
        var violations = LayeringRules.Check([Cs("src/RingKV.Storage/Tables/TableReader.cs", $"namespace RingKV.Storage.Tables;\n{line}\n")]);

        Assert.Contains("src/RingKV.Storage/Tables/TableReader.cs:2: Storage/Tables -> ", Assert.Single(violations), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_EngineUsesLeaves_Allowed()
    {
        var violations = LayeringRules.Check([
            Cs("src/RingKV.Storage/Versions/Version.cs", "using RingKV.Storage.Keys;\nusing RingKV.Storage.Tables;\nusing RingKV.Core.Hashing;\n"),
            Cs("src/RingKV.Storage/StorageEngine.cs", "using RingKV.Storage.Versions;\nusing RingKV.Storage.Compaction;\nusing RingKV.Storage.Commit;\n"),
            Cs("src/RingKV.Server/Node.cs", "using RingKV.Storage;\nusing RingKV.Net.Resp;\nvar x = Storage.Log.SyncMode.Always;\n"),
        ]);

        Assert.Empty(violations);
    }

    [Fact]
    public void Check_ReferencesInCommentsAndLiterals_Ignored()
    {
        var violations = LayeringRules.Check([Cs("src/RingKV.Storage/Cache/BlockCache.cs", """
            // using RingKV.Server;
            /// <see cref="StorageEngine"/> and RingKV.Storage.Versions.Version
            /* RingKV.Net.Resp
               StorageEngine */
            var a = "RingKV.Server.Store and StorageEngine";
            var b = @"RingKV.Net ""quoted"" Versions.Version";
            var c = $"{1} RingKV.Cli";
            var d = '"'; var e = "RingKV.Server"; var f = '\'';
            var g = \"\"\"
                RingKV.Server.Commands
                \"\"\";
            """.Replace("\\\"", "\"", StringComparison.Ordinal))]);

        Assert.Empty(violations);
    }

    [Fact]
    public void Check_StorageFoldersInACycle_ViolationShowsEachEdge()
    {
        var violations = LayeringRules.Check([
            Cs("src/RingKV.Storage/Cache/BlockCache.cs", "using RingKV.Storage.Tables;\n"),
            Cs("src/RingKV.Storage/Tables/TableReader.cs", "namespace RingKV.Storage.Tables;\nprivate Cache.BlockCache? _cache;\n"),
        ]);

        var cycle = Assert.Single(violations);
        Assert.Contains("Cache -> Tables -> Cache", cycle, StringComparison.Ordinal);
        Assert.Contains("src/RingKV.Storage/Cache/BlockCache.cs:1", cycle, StringComparison.Ordinal);
        Assert.Contains("src/RingKV.Storage/Tables/TableReader.cs:2", cycle, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_StorageFolderNotInTheTable_Violation()
    {
        var violations = LayeringRules.Check([
            Cs("src/RingKV.Storage/Engine/Version.cs", "namespace RingKV.Storage.Engine;\n"),
            Cs("src/RingKV.Storage/Engine/Manifest.cs", "namespace RingKV.Storage.Engine;\n"),
        ]);

        Assert.Equal("src/RingKV.Storage/Engine/Version.cs: Storage/Engine is neither a leaf nor a part of the engine (LayeringRules.StorageLeaves, StorageEngineParts)", Assert.Single(violations));
    }

    [Fact]
    public void Check_WrongWayProjectReference_Violation()
    {
        var violations = LayeringRules.Check([new SourceFile("src/RingKV.Net/RingKV.Net.csproj", """
            <Project Sdk="Microsoft.NET.Sdk">
              <ItemGroup>
                <ProjectReference Include="..\RingKV.Core\RingKV.Core.csproj" />
                <ProjectReference Include="..\RingKV.Storage\RingKV.Storage.csproj" />
              </ItemGroup>
            </Project>
            """)]);

        Assert.Contains("src/RingKV.Net/RingKV.Net.csproj:4: Net -> Storage (project reference)", Assert.Single(violations), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_ProjectNotInTheTable_Violation()
    {
        var violations = LayeringRules.Check([Cs("src/RingKV.Gateway/Gateway.cs", "using RingKV.Core;\n")]);

        Assert.Contains("RingKV.Gateway is not in the layering table", Assert.Single(violations), StringComparison.Ordinal);
    }

    [Fact]
    public void ProjectFiles_InternalsVisibleTo_NamesAnAssemblyOfTheRepository()
    {
        var root = RepositoryRoot();
        var projects = Directory.EnumerateFiles(root, "*.csproj", SearchOption.AllDirectories)
            .Where(p => !p.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .ToList();
        var assemblies = projects.Select(p => AssemblyName.Match(File.ReadAllText(p)) is { Success: true } m ? m.Groups[1].Value : Path.GetFileNameWithoutExtension(p)).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("ringkv", assemblies);

        var unknown = new List<string>();
        foreach (var project in projects)
        {
            foreach (Match m in InternalsVisibleTo.Matches(File.ReadAllText(project)))
            {
                if (!assemblies.Contains(m.Groups[1].Value))
                {
                    unknown.Add($"{Path.GetRelativePath(root, project)}: InternalsVisibleTo {m.Groups[1].Value}, which no project here builds");
                }
            }
        }

        Assert.True(unknown.Count == 0, string.Join('\n', unknown));
    }

    private static SourceFile Cs(string path, string text) => new(path, text);

    private static string RepositoryRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "RingKV.slnx")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        return root.FullName;
    }

    /// <summary>Every .cs and .csproj file under src/ (bin and obj left out), found from the test's output directory up.</summary>
    private static List<SourceFile> RepositorySources()
    {
        var root = RepositoryRoot();
        return [.. Directory.EnumerateFiles(Path.Combine(root, "src"), "*.*", SearchOption.AllDirectories)
            .Where(p => p.EndsWith(".cs", StringComparison.Ordinal) || p.EndsWith(".csproj", StringComparison.Ordinal))
            .Select(p => Path.GetRelativePath(root, p).Replace('\\', '/'))
            .Where(p => !p.Split('/').Any(part => part is "bin" or "obj"))
            .Order(StringComparer.Ordinal)
            .Select(p => new SourceFile(p, File.ReadAllText(Path.Combine(root, p))))];
    }
}
