/* mutex.pml with a ticket per process (see mutex_wide.cap).
   Exact-match recipe (shared/REFERENCE_MODELS.md section 19): one active proctype over
   global variables, one do loop, one d_step option per guarded-command instance. SPIN's
   "states, stored" then equals the number of reachable states of the .cap spec.
   Compile: spin -a -DN=<n> mutex_wide.pml && gcc -O2 -DSAFETY -DNOREDUCE -DNOCLAIM pan.c */

#ifndef N
#define N 4
#endif
#define idle 0
#define trying 1
#define critical 2
#define exiting 3
#define leaving 4

byte pc[N];
bool locked;
short ticket[N];  /* 50 * (p + 1) while process p holds the lock: a function of the state */

#define PROC(p) \
  :: d_step { pc[p] == idle -> pc[p] = trying } \
  :: d_step { pc[p] == trying && !locked -> locked = 1; pc[p] = critical; ticket[p] = 50 * (p + 1) } \
  :: d_step { pc[p] == critical -> pc[p] = exiting } \
  :: d_step { pc[p] == exiting -> pc[p] = leaving } \
  :: d_step { pc[p] == leaving -> locked = 0; pc[p] = idle; ticket[p] = 0 }

active proctype main() {
  do
  PROC(0)
  PROC(1)
#if N > 2
  PROC(2)
#endif
#if N > 3
  PROC(3)
#endif
#if N > 4
  PROC(4)
#endif
#if N > 5
  PROC(5)
#endif
#if N > 6
  PROC(6)
#endif
#if N > 7
  PROC(7)
#endif
#if N > 8
  PROC(8)
#endif
#if N > 9
  PROC(9)
#endif
#if N > 10
  PROC(10)
#endif
#if N > 11
  PROC(11)
#endif
#if N > 12
  PROC(12)
#endif
#if N > 13
  PROC(13)
#endif
#if N > 14
  PROC(14)
#endif
#if N > 15
  PROC(15)
#endif
#if N > 16
  PROC(16)
#endif
#if N > 17
  PROC(17)
#endif
#if N > 18
  PROC(18)
#endif
#if N > 19
  PROC(19)
#endif
#if N > 20
  PROC(20)
#endif
#if N > 21
  PROC(21)
#endif
#if N > 22
  PROC(22)
#endif
#if N > 23
  PROC(23)
#endif
  od
}
