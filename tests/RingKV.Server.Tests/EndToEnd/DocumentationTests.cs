using System;
using System.IO;
using System.Text.RegularExpressions;
using Xunit;

namespace RingKV.Server.Tests.EndToEnd;

/// <summary>The README and docs point only at files the repository has (issue 15: the README named documents it did not ship).</summary>
public sealed partial class DocumentationTests
{
    [Fact]
    public void Readme_RelativeLinksAndNamedDocuments_ExistInTheRepository()
    {
        var root = RepositoryRoot();
        foreach (var document in new[] { "README.md", Path.Combine("docs", "architecture.md") })
        {
            var path = Path.Combine(root, document);
            Assert.True(File.Exists(path), $"{document} is missing");
            var text = File.ReadAllText(path);
            foreach (Match link in MarkdownLink().Matches(text))
            {
                var target = link.Groups["target"].Value.Split('#')[0];
                if (target.Length == 0 || target.Contains("://", StringComparison.Ordinal))
                {
                    continue;
                }

                var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, target));
                Assert.True(File.Exists(resolved) || Directory.Exists(resolved), $"{document} links to {target}, which is not in the repository");
            }

            // Documents named in backquotes, e.g. `docs/benchmarks.md`, must exist too.
            foreach (Match named in NamedDocument().Matches(text))
            {
                var name = named.Groups["name"].Value;
                Assert.True(File.Exists(Path.Combine(root, name)) || File.Exists(Path.Combine(Path.GetDirectoryName(path)!, name)), $"{document} names {name}, which is not in the repository");
            }
        }

        Assert.Contains("](docs/architecture.md)", File.ReadAllText(Path.Combine(root, "README.md")), StringComparison.Ordinal);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RingKV.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no RingKV.slnx above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"`(?<name>[A-Za-z0-9_./-]+\.md)`")]
    private static partial Regex NamedDocument();
}
