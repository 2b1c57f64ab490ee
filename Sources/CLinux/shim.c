// Empty translation unit: SwiftPM needs one source file for a C target.
#include "CLinux.h"
