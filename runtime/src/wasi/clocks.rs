//! Everything that is not a file: clocks, `random_get`, `poll_oneoff`
//! (clock subscriptions sleep; descriptor subscriptions are reported
//! ready at once), `sched_yield`, arguments and environment.
//! (`proc_exit` needs no state and lives in `linker.rs`.)

use super::errno::{Errno, WasiResult};
use super::fd_table::{rights::POLL_FD_READWRITE, Kind};
use super::guest::GuestMemory;
use super::WasiCtx;
use std::time::{Duration, Instant, SystemTime};

const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const SUBSCRIPTION_CLOCK_ABSTIME: u16 = 1;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;

/// The longest one `poll_oneoff` sleeps in one go (a guest asking for
/// more just sleeps again).
const MAX_SLEEP: Duration = Duration::from_secs(365 * 24 * 3600);

impl WasiCtx {
    // ---- arguments and environment ---------------------------------------

    fn sizes(strings: &[Vec<u8>], mem: &mut GuestMemory, count: u32, size: u32) -> WasiResult {
        mem.check_out(count, 4)?;
        mem.check_out(size, 4)?;
        let total: usize = strings.iter().map(Vec::len).sum();
        mem.write_u32(count, u32::try_from(strings.len()).map_err(|_| Errno::Overflow)?)?;
        mem.write_u32(size, u32::try_from(total).map_err(|_| Errno::Overflow)?)
    }

    fn strings(strings: &[Vec<u8>], mem: &mut GuestMemory, ptrs: u32, buf: u32) -> WasiResult {
        let count = u32::try_from(strings.len()).map_err(|_| Errno::Overflow)?;
        let total = u32::try_from(strings.iter().map(Vec::len).sum::<usize>()).map_err(|_| Errno::Overflow)?;
        mem.array_range(ptrs, count, 4)?;
        mem.range(buf, total)?;
        // `off < total` for every string written, so `buf + off` stays
        // inside the range checked above and cannot overflow.
        let mut off = 0u32;
        for (i, s) in strings.iter().enumerate() {
            mem.write_u32(ptrs + 4 * i as u32, buf + off)?;
            mem.write_bytes(buf + off, s)?;
            off += s.len() as u32;
        }
        Ok(())
    }

    pub(crate) fn args_sizes_get(&mut self, mem: &mut GuestMemory, argc: u32, size: u32) -> WasiResult {
        Self::sizes(&self.args, mem, argc, size)
    }

    pub(crate) fn args_get(&mut self, mem: &mut GuestMemory, argv: u32, buf: u32) -> WasiResult {
        Self::strings(&self.args, mem, argv, buf)
    }

    pub(crate) fn environ_sizes_get(&mut self, mem: &mut GuestMemory, count: u32, size: u32) -> WasiResult {
        Self::sizes(&self.env, mem, count, size)
    }

    pub(crate) fn environ_get(&mut self, mem: &mut GuestMemory, environ: u32, buf: u32) -> WasiResult {
        Self::strings(&self.env, mem, environ, buf)
    }

    // ---- clocks ----------------------------------------------------------

    /// Nanoseconds on `clock` now. Only the wall clock and the monotonic
    /// clock exist; CPU-time clocks would tell the guest about the host
    /// process, so they are `EINVAL`, as an unknown clock is.
    fn now(&self, clock: u32) -> WasiResult<u64> {
        match clock {
            CLOCK_REALTIME => {
                let d = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_err(|_| Errno::Overflow)?;
                u64::try_from(d.as_nanos()).map_err(|_| Errno::Overflow)
            }
            CLOCK_MONOTONIC => u64::try_from(self.start.elapsed().as_nanos()).map_err(|_| Errno::Overflow),
            _ => Err(Errno::Inval),
        }
    }

    pub(crate) fn clock_res_get(&mut self, mem: &mut GuestMemory, clock: u32, res: u32) -> WasiResult {
        mem.check_out(res, 8)?;
        let realtime = match clock {
            CLOCK_REALTIME => true,
            CLOCK_MONOTONIC => false,
            _ => return Err(Errno::Inval),
        };
        mem.write_u64(res, super::host::clock_resolution(realtime))
    }

    pub(crate) fn clock_time_get(
        &mut self,
        mem: &mut GuestMemory,
        clock: u32,
        _precision: u64,
        time: u32,
    ) -> WasiResult {
        mem.check_out(time, 8)?;
        let now = self.now(clock)?;
        mem.write_u64(time, now)
    }

    // ---- randomness and scheduling --------------------------------------

    pub(crate) fn random_get(&mut self, mem: &mut GuestMemory, buf: u32, len: u32) -> WasiResult {
        let out = mem.slice_mut(buf, len)?;
        getrandom::fill(out).map_err(|_| Errno::Io)
    }

    pub(crate) fn sched_yield(&mut self, _mem: &mut GuestMemory) -> WasiResult {
        std::thread::yield_now();
        Ok(())
    }

    // ---- poll_oneoff -----------------------------------------------------

    /// Wait for the first of `n` subscriptions at `input` (48 bytes each);
    /// write the events (32 bytes each) to `output` and their count to
    /// `nevents`.
    pub(crate) fn poll_oneoff(
        &mut self,
        mem: &mut GuestMemory,
        input: u32,
        output: u32,
        n: u32,
        nevents: u32,
    ) -> WasiResult {
        if n == 0 {
            return Err(Errno::Inval);
        }
        mem.array_range(input, n, 48)?;
        mem.array_range(output, n, 32)?;
        mem.check_out(nevents, 4)?;

        struct Event {
            userdata: u64,
            error: Errno,
            ty: u8,
            nbytes: u64,
        }
        let mut ready = Vec::new();
        let mut timers = Vec::new();
        for i in 0..n {
            let sub = input + 48 * i;
            let userdata = mem.read_u64(sub)?;
            match mem.read_u8(sub + 8)? {
                EVENTTYPE_CLOCK => {
                    let clock = mem.read_u32(sub + 16)?;
                    let timeout = mem.read_u64(sub + 24)?;
                    let flags = mem.read_u16(sub + 40)?;
                    let wait = if flags & SUBSCRIPTION_CLOCK_ABSTIME != 0 {
                        self.now(clock).map(|now| timeout.saturating_sub(now))
                    } else {
                        self.now(clock).map(|_| timeout)
                    };
                    match wait {
                        Ok(ns) => timers.push((userdata, Duration::from_nanos(ns).min(MAX_SLEEP))),
                        Err(error) => ready.push(Event { userdata, error, ty: EVENTTYPE_CLOCK, nbytes: 0 }),
                    }
                }
                ty @ (EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE) => {
                    // Files and in-memory stdio never block; inherited stdio
                    // is reported ready too (a read may then block).
                    let fd = mem.read_u32(sub + 16)?;
                    let (error, nbytes) = match self.table.require(fd, POLL_FD_READWRITE) {
                        Ok(d) => match &d.kind {
                            Kind::File(f) if ty == EVENTTYPE_FD_READ => {
                                let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                                let pos = std::io::Seek::stream_position(&mut { f }).unwrap_or(len);
                                (Errno::Success, len.saturating_sub(pos))
                            }
                            Kind::Dir(_) => (Errno::Badf, 0),
                            _ => (Errno::Success, 0),
                        },
                        Err(e) => (e, 0),
                    };
                    ready.push(Event { userdata, error, ty, nbytes });
                }
                _ => return Err(Errno::Inval),
            }
        }
        if ready.is_empty() {
            let start = Instant::now();
            let first = timers.iter().map(|t| t.1).min().unwrap_or(Duration::ZERO);
            std::thread::sleep(first);
            let elapsed = start.elapsed();
            for &(userdata, wait) in &timers {
                if wait <= elapsed {
                    ready.push(Event { userdata, error: Errno::Success, ty: EVENTTYPE_CLOCK, nbytes: 0 });
                }
            }
        }
        for (i, e) in ready.iter().enumerate() {
            let mut out = [0u8; 32];
            out[0..8].copy_from_slice(&e.userdata.to_le_bytes());
            out[8..10].copy_from_slice(&(e.error as u16).to_le_bytes());
            out[10] = e.ty;
            out[16..24].copy_from_slice(&e.nbytes.to_le_bytes());
            mem.write_bytes(output + 32 * i as u32, &out)?;
        }
        mem.write_u32(nevents, ready.len() as u32)
    }
}
