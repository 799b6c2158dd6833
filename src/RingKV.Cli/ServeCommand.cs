using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using RingKV.Server;

namespace RingKV.Cli;

/// <summary><c>ringkv serve</c>: runs one node until SIGTERM or Ctrl-C.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "JSON configuration file; keys are the option names in PascalCase (e.g. {\"Listen\": \"127.0.0.1:7379\"})." };
        // Each flag maps to a ServerOptions property; flags win over the environment (RINGKV_<PROPERTY>), which wins over the file.
        var flags = new List<(Option<string> Option, string Property)>
        {
            (new Option<string>("--listen") { Description = "RESP address host:port. Default 127.0.0.1:7379. Env RINGKV_LISTEN." }, nameof(ServerOptions.Listen)),
            (new Option<string>("--data-dir") { Description = "Data directory. Default ./data. Env RINGKV_DATADIRECTORY." }, nameof(ServerOptions.DataDirectory)),
            (new Option<string>("--sync") { Description = "Commit-log sync: always (default: acknowledge after fsync), periodic:<ms>, none. Env RINGKV_SYNC." }, nameof(ServerOptions.Sync)),
            (new Option<string>("--memory-mb") { Description = "Memory budget of the engine (memtables, block cache, filters, indexes) in MiB. Default 512. Env RINGKV_MEMORYMB." }, nameof(ServerOptions.MemoryMb)),
            (new Option<string>("--compression") { Description = "Table block compression: lz4 (default), zstd, none. Env RINGKV_COMPRESSION." }, nameof(ServerOptions.Compression)),
            (new Option<string>("--max-key-bytes") { Description = "Largest key accepted. Default 65536. Env RINGKV_MAXKEYBYTES." }, nameof(ServerOptions.MaxKeyBytes)),
            (new Option<string>("--max-value-bytes") { Description = "Largest value accepted. Default 1048576. Env RINGKV_MAXVALUEBYTES." }, nameof(ServerOptions.MaxValueBytes)),
            (new Option<string>("--max-clients") { Description = "Most clients connected at once. Default 10000. Env RINGKV_MAXCLIENTS." }, nameof(ServerOptions.MaxClients)),
            (new Option<string>("--max-request-mb") { Description = "Largest request (whole command) one connection may send, in MiB; larger gets an error and the connection closes. Default: a quarter of --memory-mb, at least one SET of the largest key and value, at most 1024. Env RINGKV_MAXREQUESTMB." }, nameof(ServerOptions.MaxRequestMb)),
            (new Option<string>("--max-request-memory-mb") { Description = "Request bytes all connections may buffer at once, in MiB; a request that finds it used up waits up to 10 s, then gets an error. Default: half of --memory-mb, at least --max-request-mb. Env RINGKV_MAXREQUESTMEMORYMB." }, nameof(ServerOptions.MaxRequestMemoryMb)),
            (new Option<string>("--max-reply-buffer-mb") { Description = "Unread reply bytes one client may hold, in MiB; a client past it, or holding half of it for 5 s without reading, is disconnected. Default: an eighth of --memory-mb, at least 4x --max-value-bytes + 1. Env RINGKV_MAXREPLYBUFFERMB." }, nameof(ServerOptions.MaxReplyBufferMb)),
            (new Option<string>("--password") { Description = "Require AUTH with this password. Default: none. Env RINGKV_PASSWORD." }, nameof(ServerOptions.Password)),
            (new Option<string>("--enable-flushall") { Description = "true to allow FLUSHALL/FLUSHDB. Default false. Env RINGKV_ENABLEFLUSHALL." }, nameof(ServerOptions.EnableFlushAll)),
            (new Option<string>("--node-id") { Description = "This node's name (its actor in version vectors). Default: the host name. Env RINGKV_NODEID." }, nameof(ServerOptions.NodeId)),
        };

        var command = new Command("serve", "Run a RingKV node that serves the Redis protocol. Stops gracefully on SIGTERM or Ctrl-C.");
        command.Options.Add(config);
        foreach (var (option, _) in flags)
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            var builder = new ConfigurationBuilder();
            if (parse.GetValue(config) is { } file)
            {
                if (!file.Exists)
                {
                    Console.Error.WriteLine($"ringkv serve: configuration file {file.FullName} does not exist");
                    return 2;
                }

                builder.AddJsonFile(file.FullName, optional: false);
            }

            builder.AddEnvironmentVariables("RINGKV_");
            var given = new Dictionary<string, string?>();
            foreach (var (option, property) in flags)
            {
                if (parse.GetValue(option) is { } value)
                {
                    given[property] = value;
                }
            }

            builder.AddInMemoryCollection(given);
            ServerOptions options;
            try
            {
                options = ServerOptions.From(builder.Build());
                options.Validate();
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or InvalidDataException)
            {
                Console.Error.WriteLine($"ringkv serve: {e.Message}");
                return 2;
            }

            return Run(options);
        });
        return command;
    }

    /// <summary>
    /// Unless the user chose, commands run on the runtime's socket event threads (inline completions), as
    /// Redis runs them on its event loop: no thread-pool hop per receive. Not under sync <c>always</c>: there a
    /// SET waits for its fsync, and a waiting event thread would hold up every connection it serves, while
    /// on pool threads many waiting SETs share one fsync. Must run before the first socket is created.
    /// </summary>
    private static void RunCommandsOnSocketThreads(ServerOptions options)
    {
        const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
        if (Environment.GetEnvironmentVariable(Variable) is null && options.SyncPolicy().Mode != Storage.Log.SyncMode.Always)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }
    }

    private static int Run(ServerOptions options)
    {
        RunCommandsOnSocketThreads(options);
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        }).SetMinimumLevel(LogLevel.Information));
        var logger = loggers.CreateLogger("ringkv");
        RingKvNode node;
        try
        {
            node = RingKvNode.Start(options, loggers);
        }
        catch (Exception e) when (e is Core.Errors.RingKVException or IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"ringkv serve: cannot start: {e.Message}");
            return 1;
        }

        using var stop = new ManualResetEventSlim();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Set();
        });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            stop.Set();
        });
        Console.Out.Flush();
        stop.Wait();
        node.StopAsync().GetAwaiter().GetResult();
        return 0;
    }
}
