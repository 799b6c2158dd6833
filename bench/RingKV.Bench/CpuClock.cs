using System;
using System.Runtime.InteropServices;

namespace RingKV.Bench;

/// <summary>CPU time consumed, in nanoseconds, from <c>clock_gettime</c>: the process's (every thread) or the calling thread's.</summary>
/// <remarks>
/// Nanosecond resolution, where <see cref="System.Diagnostics.Process.TotalProcessorTime"/> counts clock ticks (10 ms).
/// Each call is a system call (about a microsecond), so the harness reads the process clock per workload and the
/// thread clock per scan, never per get. Linux only; elsewhere both read 0.
/// </remarks>
internal static partial class CpuClock
{
    private const int ProcessCpuTimeId = 2; // CLOCK_PROCESS_CPUTIME_ID
    private const int ThreadCpuTimeId = 3; // CLOCK_THREAD_CPUTIME_ID

    /// <summary>CPU time of every thread of the process so far.</summary>
    public static long ProcessNanoseconds() => Read(ProcessCpuTimeId);

    /// <summary>CPU time of the calling thread so far.</summary>
    public static long ThreadNanoseconds() => Read(ThreadCpuTimeId);

    private static long Read(int clock)
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(clock, out var time) != 0)
        {
            return 0;
        }

        return (time.Seconds * 1_000_000_000L) + time.Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
