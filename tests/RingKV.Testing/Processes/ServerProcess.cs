using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using RingKV.Testing.Support;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Testing.Processes;

/// <summary>A real <c>ringkv serve</c> process on a loopback port the server picks itself, over a temp data directory.</summary>
/// <remarks>
/// The server is started with <c>--listen 127.0.0.1:0</c> and the port is read from its "serving RESP on" log
/// line, so no port is probed and then raced for. Rejected alternative: a random port with retries; it needs a
/// retry loop on "address in use" and still races other test runs. A restart keeps the data directory and may
/// get another port. Not thread-safe: one test drives it. Dispose kills the process and deletes the directory.
/// </remarks>
public sealed partial class ServerProcess : IDisposable
{
    private const string ServerDll = "ringkv.dll";
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _dataDirectory;
    private readonly string _listen;
    private readonly string[] _flags;
    private readonly List<ConnectionMultiplexer> _clients = [];
    private Process? _process;
    private OutputCollector? _output;
    private OutputCollector? _errors;

    /// <summary>Starts a server with <paramref name="flags"/> (besides --listen and --data-dir) and waits until it serves.</summary>
    public ServerProcess(params string[] flags)
        : this("127.0.0.1:0", flags)
    {
    }

    private ServerProcess(string listen, string[] flags)
    {
        _dataDirectory = new TempDirectory("ringkv-server-tests");
        _listen = listen;
        _flags = flags;
        Start();
    }

    /// <summary>Starts a server on a given address (e.g. the port another one just left) and waits until it serves.</summary>
    public static ServerProcess Listening(string listen, params string[] flags) => new(listen, flags);

    /// <summary>The port the running server listens on.</summary>
    public int Port { get; private set; }

    /// <summary>127.0.0.1:<see cref="Port"/>.</summary>
    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    /// <summary>The data directory, kept across restarts.</summary>
    public string DataDirectory => _dataDirectory.Path;

    /// <summary>The password given with --password, if any.</summary>
    public string? Password
    {
        get
        {
            var at = Array.IndexOf(_flags, "--password");
            return at >= 0 && at + 1 < _flags.Length ? _flags[at + 1] : null;
        }
    }

    /// <summary>Whether the process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Everything the server wrote to stdout and stderr so far, for failure messages.</summary>
    public string Log => $"stdout:\n{_output?.Text()}\nstderr:\n{_errors?.Text()}";

    /// <summary>A new StackExchange.Redis connection to the server, disposed with it.</summary>
    public ConnectionMultiplexer Connect(string? password = null)
    {
        var options = new ConfigurationOptions
        {
            EndPoints = { EndPoint },
            AllowAdmin = true,
            AbortOnConnectFail = false,
            ConnectTimeout = 10_000,
            SyncTimeout = 10_000,
            AsyncTimeout = 10_000,
            ConnectRetry = 3,
            Password = password ?? Password,
        };
        var client = ConnectionMultiplexer.Connect(options);
        _clients.Add(client);
        Assert.True(client.IsConnected, $"StackExchange.Redis did not connect to {EndPoint}; {Log}");
        return client;
    }

    /// <summary>A raw socket to the server.</summary>
    public RawClient ConnectRaw() => new(EndPoint);

    /// <summary>SIGKILL: the process dies without shutting down.</summary>
    public void Kill()
    {
        var process = _process ?? throw new InvalidOperationException("not started");
        process.Kill(entireProcessTree: false);
        Assert.True(process.WaitForExit(StopDeadline), $"the server did not die within {StopDeadline} of SIGKILL");
        CloseClients();
    }

    /// <summary>SIGSTOP: the process freezes (its sockets stay open, nothing is read or answered) until <see cref="Resume"/>.</summary>
    public void Pause() => Signal(SigStop);

    /// <summary>SIGCONT: a paused process runs again.</summary>
    public void Resume() => Signal(SigCont);

    /// <summary>SIGTERM, then waits for the process to exit; returns its exit code.</summary>
    public int StopGracefully()
    {
        var process = _process ?? throw new InvalidOperationException("not started");
        Assert.Equal(0, SysKill(process.Id, SigTerm));
        var exited = process.WaitForExit(StopDeadline);
        Assert.True(exited, $"the server did not exit within {StopDeadline} of SIGTERM; {Log}");
        process.WaitForExit(); // drains the redirected output
        CloseClients();
        return process.ExitCode;
    }

    /// <summary>Waits for the process to exit by itself (SHUTDOWN, a decommission); returns its exit code.</summary>
    public int WaitForExit()
    {
        var process = _process ?? throw new InvalidOperationException("not started");
        Assert.True(process.WaitForExit(StopDeadline), $"the server did not exit within {StopDeadline}; {Log}");
        process.WaitForExit(); // drains the redirected output
        CloseClients();
        return process.ExitCode;
    }

    /// <summary>Starts the server again on the same data directory (after <see cref="Kill"/> or <see cref="StopGracefully"/>).</summary>
    public void Restart()
    {
        Assert.False(IsRunning, "restart needs a stopped server");
        _process?.Dispose();
        Start();
    }

    public void Dispose()
    {
        CloseClients();
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }

            _process.Dispose();
        }

        _dataDirectory.Dispose();
    }

    private void Start()
    {
        var start = new ProcessStartInfo(DotnetHost.Path())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ServerPath());
        start.ArgumentList.Add("serve");
        start.ArgumentList.Add("--listen");
        start.ArgumentList.Add(_listen);
        start.ArgumentList.Add("--data-dir");
        start.ArgumentList.Add(_dataDirectory.Path);
        start.ArgumentList.Add("--memory-mb");
        start.ArgumentList.Add("64");
        foreach (var flag in _flags)
        {
            start.ArgumentList.Add(flag);
        }

        RemoveRingKvEnvironment(start);

        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start ringkv");
        _output = new OutputCollector(_process.StandardOutput.BaseStream);
        _errors = new OutputCollector(_process.StandardError.BaseStream);

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var match = ServingLine().Match(_output.Text());
            if (match.Success)
            {
                Port = int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture);
                return;
            }

            if (_process.HasExited)
            {
                _process.WaitForExit();
                Assert.Fail($"ringkv serve exited with {_process.ExitCode} before serving; {Log}");
            }

            Assert.True(deadline.Elapsed < StartDeadline, $"ringkv serve did not log 'serving RESP' within {StartDeadline}; {Log}");
            _output.WaitForData(TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>A started ringkv must not pick up settings from the environment of the test run.</summary>
    public static void RemoveRingKvEnvironment(ProcessStartInfo start)
    {
        foreach (var name in new List<string>(EnvironmentNames(start)))
        {
            if (name.StartsWith("RINGKV_", StringComparison.OrdinalIgnoreCase) && !name.Equals("RINGKV_SEED", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(name);
            }
        }
    }

    private static IEnumerable<string> EnvironmentNames(ProcessStartInfo start)
    {
        foreach (var name in start.Environment.Keys)
        {
            yield return name;
        }
    }

    private void CloseClients()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        _clients.Clear();
    }

    [GeneratedRegex(@"serving RESP on (?<host>[0-9.]+):(?<port>[0-9]+)")]
    private static partial Regex ServingLine();

    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    private void Signal(int signal)
    {
        var process = _process ?? throw new InvalidOperationException("not started");
        Assert.True(SysKill(process.Id, signal) == 0, $"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    /// <summary>src/RingKV.Cli's output for the configuration the tests were built in.</summary>
    public static string ServerPath()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("RINGKV_SERVER_DLL");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            Assert.True(File.Exists(fromEnvironment), $"RINGKV_SERVER_DLL={fromEnvironment} does not exist");
            return fromEnvironment;
        }

        var beside = Path.Combine(AppContext.BaseDirectory, ServerDll);
        if (File.Exists(beside))
        {
            return beside;
        }

        var output = new DirectoryInfo(AppContext.BaseDirectory); // tests/<test project>/bin/<config>/<tfm>/
        var configuration = output.Parent?.Name ?? "Debug";
        var root = output.Parent?.Parent?.Parent?.Parent?.Parent?.FullName ?? ".";
        var sibling = Path.Combine(root, "src", "RingKV.Cli", "bin", configuration, output.Name, ServerDll);
        Assert.True(File.Exists(sibling), $"{ServerDll} not found beside the tests ({beside}) nor at {sibling}; build RingKV.slnx first");
        return sibling;
    }

    /// <summary>Reads a stream to its end on a background thread.</summary>
    private sealed class OutputCollector
    {
        private readonly Lock _lock = new();
        private readonly StringBuilder _text = new();
        private readonly SemaphoreSlim _data = new(0);

        public OutputCollector(Stream stream)
        {
            var reader = new Thread(() =>
            {
                using var text = new StreamReader(stream, Encoding.UTF8);
                var buffer = new char[4096];
                int n;
                try
                {
                    while ((n = text.Read(buffer)) > 0)
                    {
                        lock (_lock)
                        {
                            _text.Append(buffer, 0, n);
                        }

                        _data.Release();
                    }
                }
                catch (IOException)
                {
                    // The process is gone.
                }
            })
            {
                IsBackground = true,
                Name = "ringkv output",
            };
            reader.Start();
        }

        public string Text()
        {
            lock (_lock)
            {
                return _text.ToString();
            }
        }

        public void WaitForData(TimeSpan timeout) => _data.Wait(timeout);
    }
}
