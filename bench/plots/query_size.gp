# query_size.gp - query time against store size, one line per question, for
# trail (bench_query) with SQLite and ClickHouse dashed beside it. Data:
# bench/run-all.sh --plots writes query_size.dat from compare_query.sh runs,
# columns: events, then trail, SQLite, ClickHouse ms for user, trace,
# counts, text, rare, warning (19 columns; -1 where a figure is missing).
# Run: gnuplot -e "datafile='query_size.dat'; outfile='query_size.png'" query_size.gp
if (!exists("datafile")) datafile = 'query_size.dat'
if (!exists("outfile")) outfile = 'query_size.png'
set terminal pngcairo size 1000,600 font "sans,11" noenhanced
set output outfile
set title "Query time against store size (median of warm runs, timed inside each engine)"
set xlabel "events in the store (30 days)"
set ylabel "ms"
set logscale xy
set format x "%.0s%c"
set grid
set key outside right
q = "user trace counts text rare warning"
plot for [i=1:6] datafile using 1:(column(2 + 3*(i-1)) > 0 ? column(2 + 3*(i-1)) : 1/0) \
         with linespoints lw 2 lc i title "trail ".word(q, i), \
     for [i=1:6] datafile using 1:(column(3 + 3*(i-1)) > 0 ? column(3 + 3*(i-1)) : 1/0) \
         with lines dt 2 lc i title "SQLite ".word(q, i), \
     for [i=1:6] datafile using 1:(column(4 + 3*(i-1)) > 0 ? column(4 + 3*(i-1)) : 1/0) \
         with lines dt 3 lc i title "ClickHouse ".word(q, i)
