// Build configuration of the probes. CMake defines LOOPSCOPE_PROBES_ENABLED for everything
// that links loopscope::probes (0 with -DLOOPSCOPE_PROBES=OFF); a build that includes the
// headers some other way gets the probes compiled in.
#pragma once

#ifndef LOOPSCOPE_PROBES_ENABLED
#define LOOPSCOPE_PROBES_ENABLED 1
#endif
