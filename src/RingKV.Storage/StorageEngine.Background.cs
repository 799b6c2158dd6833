using System;
using System.IO;
using System.Threading;
using RingKV.Core.Errors;

namespace RingKV.Storage;

public sealed partial class StorageEngine
{
    /// <summary>
    /// The loop of a background thread (flush, compaction): runs <paramref name="runOnce"/> while it finds work, waits
    /// for <paramref name="signal"/> when it finds none, and ends once the engine closes or has failed.
    /// </summary>
    /// <remarks>
    /// The error boundary of background work: a failure of the disk or of the data (<see cref="IOException"/>,
    /// <see cref="RingKVException"/>, <see cref="UnauthorizedAccessException"/>) becomes the sticky
    /// <see cref="BackgroundError"/>, which every later write reports, and ends the loop; cancellation means closing.
    /// The state is checked after every wait, so a signal set while work ran is never lost.
    /// </remarks>
    private void RunBackgroundLoop(AutoResetEvent signal, Func<bool> runOnce)
    {
        while (true)
        {
            lock (_mutex)
            {
                if (_closing || _backgroundError is not null)
                {
                    return;
                }
            }

            bool ranWork;
            try
            {
                ranWork = runOnce();
            }
            catch (OperationCanceledException)
            {
                return; // closing
            }
            catch (Exception e) when (e is IOException or RingKVException or UnauthorizedAccessException)
            {
                lock (_mutex)
                {
                    SetBackgroundErrorLocked(e);
                }

                return;
            }

            if (!ranWork)
            {
                signal.WaitOne();
            }
        }
    }

    /// <summary>Sets the sticky background error and wakes everyone. Requires: _mutex.</summary>
    private void SetBackgroundErrorLocked(Exception error)
    {
        StorageStatistics.Increment(ref _stats._backgroundErrors);
        _backgroundError ??= error;
        Monitor.PulseAll(_mutex);
        _flushSignal.Set();
        _compactionSignal.Set();
    }
}
