using System;
using System.Runtime.InteropServices;

namespace RingKV.Storage.Compaction;

/// <summary>Lowers the CPU priority of one background thread (see <see cref="StorageOptions.CompactionNice"/>).</summary>
internal static partial class BackgroundPriority
{
    private const int PrioProcess = 0; // with a thread id, Linux applies it to that thread alone

    /// <summary>Sets the calling thread's nice value on Linux; false elsewhere or when the kernel refuses.</summary>
    public static bool TryLowerCurrentThread(int nice)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            return Native.SetPriority(PrioProcess, Native.GetTid(), nice) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "gettid")]
        public static partial int GetTid();

        [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
        public static partial int SetPriority(int which, int who, int prio);
    }
}
