# Warnings on and clean: every project target links chronus_warnings.
add_library(chronus_warnings INTERFACE)
target_compile_options(chronus_warnings INTERFACE
    -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor -Wold-style-cast
    -Wimplicit-fallthrough)
if(CHRONUS_WERROR)
    target_compile_options(chronus_warnings INTERFACE -Werror)
endif()
