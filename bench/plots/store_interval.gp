# store_interval.gp - library ingest (bench_store) against the fsync
# interval, at two batch sizes. Data: bench/run-all.sh --plots writes
# store_interval.dat, columns: interval ms, events/s at batch 64, at batch 512.
# Run: gnuplot -e "datafile='store_interval.dat'; outfile='store_interval.png'" store_interval.gp
if (!exists("datafile")) datafile = 'store_interval.dat'
if (!exists("outfile")) outfile = 'store_interval.png'
set terminal pngcairo size 900,540 font "sans,11" noenhanced
set output outfile
set title "Library ingest into the store: throughput against fsync interval (2 producer threads, 32 batches in flight each)"
set xlabel "fsync interval (ms)"
set ylabel "events/s, durable"
set logscale x
set xrange [0.8:70]
set format y "%.1s%c"
set grid
set key bottom left
set yrange [0:1.2e6<*]
plot datafile using 1:2 with linespoints lw 2 title "batch 64", \
     datafile using 1:3 with linespoints lw 2 title "batch 512", \
     1000000 with lines dt 2 lc rgb "gray40" title "target 1,000,000/s"
