/* Exact-match recipe (shared/REFERENCE_MODELS.md section 19): one active proctype over
   global variables, one do loop, one d_step option per guarded-command instance. SPIN's
   "states, stored" then equals the number of reachable states of the .cap spec.
   Compile: spin -a -DN=<n> -DB=<b> fleet.pml && gcc -O2 -DSAFETY -DNOREDUCE -DNOCLAIM pan.c */

#ifndef N
#define N 3
#endif
#ifndef B
#define B 6
#endif
#define idle 0
#define working 1
#define done 2

byte budget = B;
byte spent;
byte held[N];
byte phase[N];

#define AGENT(a) \
  :: d_step { phase[a] == idle && budget >= 1 -> budget = budget - 1; held[a] = 1; phase[a] = working } \
  :: d_step { phase[a] == idle && budget >= 2 -> budget = budget - 2; held[a] = 2; phase[a] = working } \
  :: d_step { phase[a] == working && held[a] > 0 -> held[a]--; spent++ } \
  :: d_step { phase[a] == working -> budget = budget + held[a]; held[a] = 0; phase[a] = idle } \
  :: d_step { phase[a] == idle -> phase[a] = done }

active proctype main() {
  do
  AGENT(0)
  AGENT(1)
#if N > 2
  AGENT(2)
#endif
#if N > 3
  AGENT(3)
#endif
#if N > 4
  AGENT(4)
#endif
#if N > 5
  AGENT(5)
#endif
#if N > 6
  AGENT(6)
#endif
#if N > 7
  AGENT(7)
#endif
#if N > 8
  AGENT(8)
#endif
#if N > 9
  AGENT(9)
#endif
#if N > 10
  AGENT(10)
#endif
#if N > 11
  AGENT(11)
#endif
#if N > 12
  AGENT(12)
#endif
#if N > 13
  AGENT(13)
#endif
#if N > 14
  AGENT(14)
#endif
#if N > 15
  AGENT(15)
#endif
#if N > 16
  AGENT(16)
#endif
#if N > 17
  AGENT(17)
#endif
#if N > 18
  AGENT(18)
#endif
#if N > 19
  AGENT(19)
#endif
#if N > 20
  AGENT(20)
#endif
#if N > 21
  AGENT(21)
#endif
#if N > 22
  AGENT(22)
#endif
#if N > 23
  AGENT(23)
#endif
  od
}
