/* Exact-match recipe (shared/REFERENCE_MODELS.md section 19): one active proctype over
   global variables, one do loop, one d_step option per guarded-command instance. SPIN's
   "states, stored" then equals the number of reachable states of the .cap spec.
   Compile: spin -a -DN=<n> philosophers.pml && gcc -O2 -DSAFETY -DNOREDUCE -DNOCLAIM pan.c */

#ifndef N
#define N 4
#endif
#define thinking 0
#define hungry 1
#define has_left 2
#define eating 3
#define RIGHT(p) (((p) + 1) % N)

byte pc[N];
bool taken[N];

#define PHIL(p) \
  :: d_step { pc[p] == thinking -> pc[p] = hungry } \
  :: d_step { pc[p] == hungry && !taken[p] -> taken[p] = 1; pc[p] = has_left } \
  :: d_step { pc[p] == has_left && !taken[RIGHT(p)] -> taken[RIGHT(p)] = 1; pc[p] = eating } \
  :: d_step { pc[p] == eating -> taken[p] = 0; taken[RIGHT(p)] = 0; pc[p] = thinking }

active proctype main() {
  do
  PHIL(0)
  PHIL(1)
#if N > 2
  PHIL(2)
#endif
#if N > 3
  PHIL(3)
#endif
#if N > 4
  PHIL(4)
#endif
#if N > 5
  PHIL(5)
#endif
#if N > 6
  PHIL(6)
#endif
#if N > 7
  PHIL(7)
#endif
#if N > 8
  PHIL(8)
#endif
#if N > 9
  PHIL(9)
#endif
#if N > 10
  PHIL(10)
#endif
#if N > 11
  PHIL(11)
#endif
#if N > 12
  PHIL(12)
#endif
#if N > 13
  PHIL(13)
#endif
#if N > 14
  PHIL(14)
#endif
#if N > 15
  PHIL(15)
#endif
#if N > 16
  PHIL(16)
#endif
#if N > 17
  PHIL(17)
#endif
#if N > 18
  PHIL(18)
#endif
#if N > 19
  PHIL(19)
#endif
#if N > 20
  PHIL(20)
#endif
#if N > 21
  PHIL(21)
#endif
#if N > 22
  PHIL(22)
#endif
#if N > 23
  PHIL(23)
#endif
  od
}
