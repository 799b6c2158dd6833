using System;
using System.CommandLine;
using System.IO;
using RingKV.Cli.Scaling;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Cli.Tests.Scaling;

/// <summary><c>ringkv autoscale</c>'s flags: a bad value gets a clear error and exit code 2 before anything is asked or started.</summary>
public sealed class AutoscaleCommandTests
{
    [Theory]
    [InlineData("--high-ops 100 --low-ops 200", "ringkv autoscale: --low-ops (200) must be below --high-ops (100)")]
    [InlineData("--high-ops abc", "ringkv autoscale: --high-ops 'abc' is not a number >= 0")]
    [InlineData("--high-ops -5", "ringkv autoscale: --high-ops '-5' is not a number >= 0")]
    [InlineData("--high-bytes 10XB", "ringkv autoscale: --high-bytes '10XB' is not a size")]
    [InlineData("", "ringkv autoscale: no water mark is set")]
    [InlineData("--high-ops 100 --min 0", "ringkv autoscale: --min must be at least 1, not 0")]
    [InlineData("--high-ops 100 --min 5 --max 3", "ringkv autoscale: --max (3) must be at least --min (5)")]
    [InlineData("--high-ops 100 --step 0", "ringkv autoscale: --step must be at least 1, not 0")]
    [InlineData("--high-ops 100 --window soon", "ringkv autoscale: --window 'soon' is not a duration")]
    [InlineData("--high-ops 100 --cooldown -1s", "ringkv autoscale: --cooldown '-1s' is not a duration")]
    [InlineData("--high-ops 100 --interval 0", "ringkv autoscale: --interval must be above 0")]
    [InlineData("--high-ops 100 --max-runtime forever", "ringkv autoscale: --max-runtime 'forever' is not a duration")]
    [InlineData("--high-ops 100 --change-timeout 0", "ringkv autoscale: --change-timeout must be above 0")]
    [InlineData("--high-ops 100 --provider k8s", "ringkv autoscale: --provider 'k8s' is not built: only local is")]
    [InlineData("--high-ops 100 --host nowhere", "ringkv autoscale: --host 'nowhere' is not host:port")]
    public void Invoke_BadValue_ExitsTwoNamingTheFlag(string arguments, string expected)
    {
        var (code, _, errors) = Run(arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal(2, code);
        Assert.Contains(expected, errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Invoke_SeveralBadValues_EachOnItsLine()
    {
        var (code, _, errors) = Run(["--high-cpu", "50", "--low-cpu", "60", "--step", "0"]);

        Assert.Equal(2, code);
        Assert.Contains("ringkv autoscale: --step must be at least 1, not 0\n", errors.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("ringkv autoscale: --low-cpu (60) must be below --high-cpu (50)", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Invoke_DirectoryNotFromClusterUp_ExitsOneSayingWhy()
    {
        using var directory = new TempDirectory();

        var (code, _, errors) = Run(["--high-ops", "100", "--data-dir", directory.Path]);

        Assert.Equal(1, code);
        Assert.Contains("cluster.json does not exist", errors, StringComparison.Ordinal); // the manifest of cluster up (ClusterManifest): a missing one is told apart from an unreadable one
        Assert.Contains("ringkv cluster up", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Invoke_DryRunMaxRuntimeNoNodeAnswering_LogsErrorsAndStopsByItself()
    {
        using var directory = new TempDirectory();

        var (code, output, _) = Run(["--high-ops", "100", "--data-dir", directory.Path, "--dry-run", "--host", "127.0.0.1:1", "--interval", "50ms", "--max-runtime", "300ms"]);

        Assert.Equal(0, code);
        Assert.Contains("autoscale: Error: no node answered KV.RING", output, StringComparison.Ordinal);
        Assert.Contains("--max-runtime reached", output, StringComparison.Ordinal);
        Assert.Equal("Error", AutoscaleStatus.TryRead(Path.Combine(directory.Path, AutoscaleStatus.FileName))?.Decision);
    }

    [Theory]
    [InlineData("1024", 1024.0)]
    [InlineData("1.5KiB", 1536.0)]
    [InlineData("500MiB", 500.0 * 1024 * 1024)]
    [InlineData("20gb", 20.0 * 1024 * 1024 * 1024)]
    [InlineData("1T", 1024.0 * 1024 * 1024 * 1024)]
    public void ByteSize_Units_AreBinary(string text, double expected)
    {
        Assert.Equal(expected, AutoscaleCommand.ByteSize(text, "--high-bytes", []));
    }

    private static (int Code, string Output, string Errors) Run(string[] arguments)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var code = AutoscaleCommand.Create().Parse(arguments).Invoke(new InvocationConfiguration { Output = output, Error = errors });
        return (code, output.ToString(), errors.ToString());
    }
}
