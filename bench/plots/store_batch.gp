# store_batch.gp - library ingest (bench_store) against batch size, one line
# per fsync policy. Data: bench/run-all.sh --plots writes store_batch.dat,
# columns: batch, events/s with fsync always, interval 2 ms, interval 10 ms.
# Run: gnuplot -e "datafile='store_batch.dat'; outfile='store_batch.png'" store_batch.gp
if (!exists("datafile")) datafile = 'store_batch.dat'
if (!exists("outfile")) outfile = 'store_batch.png'
set terminal pngcairo size 900,540 font "sans,11" noenhanced
set output outfile
set title "Library ingest into the store: throughput against batch size (2 producer threads, durable)"
set xlabel "events per append (batch)"
set ylabel "events/s, durable"
set logscale x 2
set format y "%.1s%c"
set grid
set key bottom right
set yrange [0:1.2e6<*]
plot datafile using 1:2 with linespoints lw 2 title "fsync always (group commit)", \
     datafile using 1:3 with linespoints lw 2 title "fsync every 2 ms", \
     datafile using 1:4 with linespoints lw 2 title "fsync every 10 ms", \
     1000000 with lines dt 2 lc rgb "gray40" title "target 1,000,000/s"
