using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading.Tasks;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Testing.Processes;

/// <summary>One run of the real <c>ringkv</c> executable to its exit: what it printed and its exit code.</summary>
/// <param name="ExitCode">The process's exit code.</param>
/// <param name="Output">Everything on stdout.</param>
/// <param name="Errors">Everything on stderr.</param>
public sealed record RingKvRun(int ExitCode, string Output, string Errors)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>Runs <c>ringkv</c> with <paramref name="arguments"/> and the given environment (no other RINGKV_ variable) until it exits.</summary>
    public static RingKvRun Start(IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(DotnetHost.Path())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ServerProcess.ServerPath());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        ServerProcess.RemoveRingKvEnvironment(start);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start ringkv");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Deadline))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"ringkv {string.Join(' ', arguments)} did not exit within {Deadline}; stdout: {output.Result}; stderr: {errors.Result}");
        }

        process.WaitForExit(); // drains the redirected output
        Task.WaitAll(output, errors);
        return new RingKvRun(process.ExitCode, output.Result, errors.Result);
    }

    /// <summary>Runs <c>ringkv</c> with <paramref name="arguments"/> until it exits.</summary>
    public static RingKvRun Start(params string[] arguments) => Start(null, arguments);
}
