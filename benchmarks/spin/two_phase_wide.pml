/* two_phase.pml with a timestamp per manager (see two_phase_wide.cap).
   Exact-match recipe (shared/REFERENCE_MODELS.md section 19): one active proctype over
   global variables, one do loop, one d_step option per guarded-command instance. SPIN's
   "states, stored" then equals the number of reachable states of the .cap spec.
   Compile: spin -a -DRM=<n> two_phase.pml && gcc -O2 -DSAFETY -DNOREDUCE -DNOCLAIM pan.c */

#ifndef RM
#define RM 3
#endif
#define working 0
#define prepared 1
#define committed 2
#define aborted 3
#define tm_init 0
#define tm_committed 1
#define tm_aborted 2

byte rm[RM];
byte tm;
bool tm_prepared[RM];
bool msg_prepared[RM];
bool msg_commit;
bool msg_abort;
short prepared_at[RM];  /* 100 * (r + 1) once manager r prepared: a function of the state */
byte n_prepared;   /* the number of true tm_prepared[r]: a function of the state, no new states */

#define RMOPS(r) \
  :: d_step { tm == tm_init && msg_prepared[r] -> \
       if :: !tm_prepared[r] -> n_prepared++ :: else -> skip fi; tm_prepared[r] = 1 } \
  :: d_step { rm[r] == working -> rm[r] = prepared; msg_prepared[r] = 1; prepared_at[r] = 100 * (r + 1) } \
  :: d_step { rm[r] == working -> rm[r] = aborted } \
  :: d_step { msg_commit -> rm[r] = committed } \
  :: d_step { msg_abort -> rm[r] = aborted }

active proctype main() {
  do
  :: d_step { tm == tm_init && n_prepared == RM -> tm = tm_committed; msg_commit = 1 }
  :: d_step { tm == tm_init -> tm = tm_aborted; msg_abort = 1 }
  RMOPS(0)
  RMOPS(1)
#if RM > 2
  RMOPS(2)
#endif
#if RM > 3
  RMOPS(3)
#endif
#if RM > 4
  RMOPS(4)
#endif
#if RM > 5
  RMOPS(5)
#endif
#if RM > 6
  RMOPS(6)
#endif
#if RM > 7
  RMOPS(7)
#endif
#if RM > 8
  RMOPS(8)
#endif
#if RM > 9
  RMOPS(9)
#endif
#if RM > 10
  RMOPS(10)
#endif
#if RM > 11
  RMOPS(11)
#endif
#if RM > 12
  RMOPS(12)
#endif
#if RM > 13
  RMOPS(13)
#endif
#if RM > 14
  RMOPS(14)
#endif
#if RM > 15
  RMOPS(15)
#endif
#if RM > 16
  RMOPS(16)
#endif
#if RM > 17
  RMOPS(17)
#endif
#if RM > 18
  RMOPS(18)
#endif
#if RM > 19
  RMOPS(19)
#endif
#if RM > 20
  RMOPS(20)
#endif
#if RM > 21
  RMOPS(21)
#endif
#if RM > 22
  RMOPS(22)
#endif
#if RM > 23
  RMOPS(23)
#endif
  od
}
