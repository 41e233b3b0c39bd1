# Detection of the CUDA backend's toolchain: nvcc, the CUDA runtime, cuBLASLt
# and cuDNN 9. Sets CNN_HAVE_CUDA and, when true, the imported targets the
# engine links (CUDA::cudart, CUDA::cublasLt, cnn_cudnn).
#   -DCNN_CUDA=AUTO|ON|OFF   AUTO (default): build it when everything is found.
#   -DCUDNN_ROOT=DIR          where cudnn.h and libcudnn live if not beside CUDA
#                             (e.g. a pip nvidia-cudnn-cu13 package's nvidia/cudnn).
#   -DCMAKE_CUDA_ARCHITECTURES=...  default "90-real;90-virtual": sm_90 machine
#                             code for H100/H200 and compute_90 PTX for newer GPUs.
set(CNN_CUDA AUTO CACHE STRING "Build the CUDA backend: AUTO, ON or OFF")
set_property(CACHE CNN_CUDA PROPERTY STRINGS AUTO ON OFF)
set(CNN_HAVE_CUDA OFF)

function(cnn_cuda_missing why)
  if(CNN_CUDA STREQUAL "ON")
    message(FATAL_ERROR "CUDA backend requested (CNN_CUDA=ON) but ${why}")
  endif()
  message(STATUS "CUDA backend: not built (${why}); `--device cuda` will report it")
endfunction()

if(CNN_CUDA STREQUAL "OFF")
  message(STATUS "CUDA backend: not built (CNN_CUDA=OFF)")
  return()
endif()

include(CheckLanguage)
if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  cnn_cuda_missing("nvcc was not found (set CUDACXX or put nvcc on PATH)")
  return()
endif()
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "90-real;90-virtual")
endif()
set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
enable_language(CUDA)
find_package(CUDAToolkit)
if(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::cublasLt OR NOT TARGET CUDA::cudart)
  cnn_cuda_missing("the CUDA toolkit (cudart, cublasLt) was not found")
  return()
endif()

set(_cnn_cudnn_hints ${CUDNN_ROOT} $ENV{CUDNN_ROOT} ${CUDAToolkit_LIBRARY_ROOT} ${CUDAToolkit_TARGET_DIR})
find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${_cnn_cudnn_hints} ${CUDAToolkit_INCLUDE_DIRS} PATH_SUFFIXES include)
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 HINTS ${_cnn_cudnn_hints} ${CUDAToolkit_LIBRARY_DIR}
  PATH_SUFFIXES lib lib64)
if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
  cnn_cuda_missing("cuDNN was not found (cudnn.h: ${CUDNN_INCLUDE_DIR}, libcudnn: ${CUDNN_LIBRARY}; set CUDNN_ROOT)")
  return()
endif()
file(STRINGS ${CUDNN_INCLUDE_DIR}/cudnn_version.h _cnn_cudnn_major REGEX "^#define CUDNN_MAJOR [0-9]+")
string(REGEX REPLACE "^#define CUDNN_MAJOR ([0-9]+)" "\\1" _cnn_cudnn_major "${_cnn_cudnn_major}")
if(NOT _cnn_cudnn_major STREQUAL "9")
  cnn_cuda_missing("cuDNN ${_cnn_cudnn_major} found in ${CUDNN_INCLUDE_DIR}; the backend needs cuDNN 9")
  return()
endif()

add_library(cnn_cudnn INTERFACE)
target_include_directories(cnn_cudnn SYSTEM INTERFACE ${CUDNN_INCLUDE_DIR})
target_link_libraries(cnn_cudnn INTERFACE ${CUDNN_LIBRARY})
set(CNN_HAVE_CUDA ON)
message(STATUS "CUDA backend: built (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
  "arch ${CMAKE_CUDA_ARCHITECTURES}, cuDNN ${CUDNN_LIBRARY}, cuBLASLt from ${CUDAToolkit_LIBRARY_DIR})")
